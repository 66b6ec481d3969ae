/**
 * Pub/sub on LISTEN/NOTIFY: every node LISTENs on the schema's one pub/sub channel (on its single
 * LISTEN connection) and picks the messages of the channels it subscribed to. A notification
 * carries the channel name itself, so two channels never mix whatever their names; a message too
 * big for NOTIFY's 8,000-byte payload is written to `pubsub_payloads` and the notification carries
 * its row id (receivers read it; the maintenance sweep deletes it a minute later). Fan-out, at most
 * once: a node whose LISTEN connection is down misses what is sent meanwhile, and LISTENs again
 * when it reconnects. Messages from one publisher arrive in publish order, large ones included.
 */
import { ClusterError, ErrorCodes, type PubSubAdapter } from 'clusterkit/adapter-kit';
import type { PgConnections } from './connection.js';
import { md5 } from './names.js';
import { PostgresAdapterBase } from './postgres-adapter-base.js';

/** Largest NOTIFY payload PostgreSQL accepts is 7,999 bytes. */
const MAX_NOTIFY_BYTES = 7_999;

/** PostgreSQL pub/sub adapter for one node. */
export class PostgresPubSubAdapter extends PostgresAdapterBase implements PubSubAdapter {
  private readonly handlers = new Map<string, (payload: string) => void>();
  /** Channel names by md5, for large-message notifications. */
  private readonly byHash = new Map<string, string>();
  private unlisten: (() => void) | undefined;
  /** Deliveries wait behind a large message being read, so order is kept. */
  private chain: Promise<void> = Promise.resolve();
  private reading = 0;

  constructor(connections: PgConnections) {
    super(connections, 'PostgreSQL pub/sub adapter');
  }

  override async connect(): Promise<void> {
    if (this.connected) return;
    await super.connect();
    this.unlisten = this.connections.listener.on(this.connections.channels.pubsub, (payload) => this.receive(payload));
  }

  protected async dropResources(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
    this.handlers.clear();
    this.byHash.clear();
  }

  async subscribe(channel: string, onMessage: (payload: string) => void): Promise<void> {
    this.assertConnected();
    if (this.handlers.has(channel)) {
      throw new ClusterError(ErrorCodes.ALREADY_SUBSCRIBED, `channel "${channel}" already has a listener on this node`);
    }
    this.handlers.set(channel, onMessage);
    this.byHash.set(md5(channel), channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.handlers.delete(channel);
    this.byHash.delete(md5(channel));
  }

  async publish(channel: string, payload: string): Promise<void> {
    this.assertConnected();
    const c = this.connections;
    const inline = `i${channel.length}:${channel}${payload}`;
    if (Buffer.byteLength(inline) <= MAX_NOTIFY_BYTES) {
      await c.query('publish', 'SELECT pg_notify($1, $2)', [c.channels.pubsub, inline]);
      return;
    }
    await c.query(
      'publish',
      `WITH ins AS (INSERT INTO ${c.table('pubsub_payloads')} (channel, payload) VALUES ($2, $3) RETURNING id)
       SELECT pg_notify($1, 't' || id || ':' || md5($2)) FROM ins`,
      [c.channels.pubsub, channel, payload],
    );
  }

  private receive(notification: string): void {
    if (notification.startsWith('i')) {
      const colon = notification.indexOf(':');
      const length = Number(notification.slice(1, colon));
      if (colon < 0 || !Number.isInteger(length)) return;
      const channel = notification.slice(colon + 1, colon + 1 + length);
      const handler = this.handlers.get(channel);
      if (!handler) return;
      const payload = notification.slice(colon + 1 + length);
      if (this.reading === 0) this.call(channel, payload);
      else this.chain = this.chain.then(() => this.call(channel, payload));
      return;
    }
    if (notification.startsWith('t')) {
      const [id, hash] = notification.slice(1).split(':');
      if (!id || !hash || !this.byHash.has(hash)) return;
      this.reading += 1;
      const read = this.read(id);
      this.chain = this.chain
        .then(() => read)
        .then((row) => {
          if (row) this.call(row.channel, row.payload);
        })
        .finally(() => {
          this.reading -= 1;
        });
    }
  }

  private call(channel: string, payload: string): void {
    try {
      this.handlers.get(channel)?.(payload);
    } catch (error) {
      this.connections.settings.onError(error, { source: 'pub/sub handler', channel });
    }
  }

  private async read(id: string): Promise<{ channel: string; payload: string } | undefined> {
    try {
      const { rows } = await this.connections.query<{ channel: string; payload: string }>(
        'read large message',
        `SELECT channel, payload FROM ${this.connections.table('pubsub_payloads')} WHERE id = $1`,
        [id],
      );
      return rows[0];
    } catch (error) {
      this.connections.settings.onError(error, { source: 'pub/sub large message', id });
      return undefined;
    }
  }
}
