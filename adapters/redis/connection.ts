/**
 * Connections of one node's Redis adapters. Every adapter made by one `createRedisAdapters()` call
 * shares them, refcounted: the first `connect()` opens them, the last `close()` closes them.
 *
 * - `command`: producers, lock scripts, cache, pub/sub publishes. `enableOfflineQueue: false` and one
 *   retry per request, so a call made while Redis is down rejects at once (as `BACKEND_UNAVAILABLE`)
 *   instead of queueing; its writes are batched (`batchWrites`): the commands of one microtask
 *   checkpoint go out as one write.
 * - `worker`: the normal connection of this node's BullMQ workers. `maxRetriesPerRequest: null`, as
 *   BullMQ requires; each worker duplicates it for its own blocking (`BZPOPMIN`) connection.
 * - `subscriber`: one per node, for pub/sub and lock-release notifications (see {@link RedisSubscriber}).
 * - `control`: one per node once a queue is consumed, for the delay waker's wake-ups, so a wake-up
 *   never waits behind a burst of publishes on the command connection.
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ClusterError, isClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import { RedisSubscriber } from './redis-subscriber.js';
import { batchWrites } from './write-batching.js';

/** An ioredis client: a single node (standalone or Sentinel) or a Cluster. */
export type RedisClient = Redis | Cluster;

/** Where the Redis adapters connect. Give one of `url`, `options`, `cluster` or `client`. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://` (TLS). */
  url?: string;
  /** ioredis options (host, port, username, password, db, tls, `sentinels` + `name` for Sentinel). */
  options?: RedisOptions;
  /** Redis Cluster: startup nodes and ioredis cluster options. */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /** An existing client; the adapters `duplicate()` it and never close it. */
  client?: RedisClient;
  /** How long `connect()` waits for Redis before rejecting with `BACKEND_UNAVAILABLE`, in ms. @default 10000 */
  connectTimeoutMs?: number;
}

/** What a connection is for; decides its fail-fast settings. */
type Role = 'command' | 'control' | 'worker' | 'subscriber' | 'native';

const ROLE_OPTIONS: Record<Role, RedisOptions> = {
  // Writes are batched per microtask checkpoint instead (see write-batching.ts): ioredis'
  // auto-pipelining would defer every command to setImmediate and double one-at-a-time latency.
  command: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  // Wake-ups only (the delay waker's marker): never queued behind a burst on the command connection.
  control: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  worker: { maxRetriesPerRequest: null, enableOfflineQueue: true },
  subscriber: { maxRetriesPerRequest: null, enableOfflineQueue: true, autoResubscribe: true },
  native: {},
};

/** Builds a new ioredis client for `role` (lazy: it connects on first use or `connect()`). */
export function createClient(source: RedisConnectionOptions, role: Role, extra: RedisOptions = {}): RedisClient {
  const roleOptions = { ...ROLE_OPTIONS[role], ...extra, lazyConnect: true };
  // A Cluster connects its node connections on first use. Without a node-level offline queue their
  // first command fails; see connectClient for the Cluster-level side of the same problem.
  const nodeOptions = { ...roleOptions, enableOfflineQueue: true };
  if (source.client) {
    return source.client instanceof Cluster
      ? source.client.duplicate(undefined, {
          redisOptions: { ...source.client.options.redisOptions, ...nodeOptions },
          lazyConnect: true,
          ...clusterLevel(roleOptions),
        })
      : source.client.duplicate(roleOptions);
  }
  if (source.cluster) {
    const { nodes, options = {} } = source.cluster;
    return new Cluster(nodes, {
      ...options,
      ...clusterLevel(roleOptions),
      lazyConnect: true,
      redisOptions: { ...options.redisOptions, ...nodeOptions },
    });
  }
  if (source.url) return new Redis(source.url, { ...source.options, ...roleOptions });
  return new Redis({ ...source.options, ...roleOptions });
}

/** Cluster-level copies of the per-node fail-fast settings (the Cluster object has its own queue). */
function clusterLevel(options: RedisOptions): Partial<ClusterOptions> {
  return {
    ...(options.enableOfflineQueue !== undefined ? { enableOfflineQueue: options.enableOfflineQueue } : {}),
    ...(options.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: options.maxRetriesPerRequest } : {}),
  } as Partial<ClusterOptions>;
}

/** Waits until `client` is ready, or rejects with `BACKEND_UNAVAILABLE` after `timeoutMs`. */
export async function connectClient(client: RedisClient, timeoutMs: number, what: string): Promise<void> {
  if (client.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  // ioredis rejects connect() with a bare "Connection is closed."; the reason (ECONNREFUSED,
  // ENOTFOUND, NOAUTH, WRONGPASS, ...) only comes as an 'error' event. Keep the last one.
  let socketError: Error | undefined;
  const onError = (error: Error) => {
    socketError = error;
  };
  client.on('error', onError);
  try {
    await Promise.race([
      client.status === 'wait' ? client.connect() : waitReady(client),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    // A fail-fast Cluster (no offline queue) refuses a command whose node connection is still
    // connecting, and ioredis retries it after its failover delay (100 ms) on whatever node it
    // samples: a new node's first burst (a fair lock's line) would arrive late and out of order.
    // So every master connection is up before the adapter is.
    if (client instanceof Cluster) {
      await Promise.race([
        Promise.all(client.nodes('master').map((node) => (node.status === 'wait' ? node.connect() : waitReady(node)))),
        new Promise<never>((_, reject) => {
          clearTimeout(timer);
          timer = setTimeout(() => reject(new Error(`cluster nodes not ready within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    }
  } catch (error) {
    client.disconnect();
    const cause = socketError ?? error;
    const timedOut = socketError && error instanceof Error && /^not ready within/.test(error.message);
    throw unavailable(
      `cannot connect to Redis at ${describeTarget(client)} (${what} connection)${timedOut ? ` within ${timeoutMs} ms` : ''}`,
      cause,
    );
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}

/** Where a client connects, password masked: `redis://user:***@host:port/db`, or a Cluster's nodes. */
export function describeTarget(client: RedisClient): string {
  if (client instanceof Cluster) {
    const nodes = (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
    const shown = nodes
      .map((n) =>
        typeof n === 'object' && n
          ? `${(n as ClusterNodeShape).host ?? '127.0.0.1'}:${(n as ClusterNodeShape).port ?? 6379}`
          : String(n),
      )
      .join(', ');
    return `Redis Cluster nodes ${shown || '(none)'}`;
  }
  const o = client.options;
  if (o.sentinels?.length) {
    return `Sentinel ${o.sentinels.map((n) => `${n.host ?? '127.0.0.1'}:${n.port ?? 26379}`).join(', ')} (master ${o.name ?? '?'})`;
  }
  const auth = o.password ? `${o.username ?? ''}:***@` : o.username ? `${o.username}@` : '';
  const target = o.path ? `unix:${o.path}` : `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
  return `${o.tls ? 'rediss' : 'redis'}://${auth}${target}${o.db ? `/${o.db}` : ''}`;
}

interface ClusterNodeShape {
  host?: string;
  port?: number;
}

function waitReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/** Wraps a driver failure as a `ClusterError` with code `BACKEND_UNAVAILABLE`. */
export function unavailable(message: string, cause: unknown): ClusterError {
  if (isClusterError(cause)) return cause;
  const reason = causeText(cause);
  return new ClusterError(ErrorCodes.BACKEND_UNAVAILABLE, `${message}: ${reason}`, { cause });
}

/**
 * A driver error as one line that names the cause: its message, plus the system code and address
 * when the message lacks them (`connect ECONNREFUSED 127.0.0.1:6380`, `getaddrinfo ENOTFOUND host`).
 */
function causeText(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const e = cause as Error & { code?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  return code && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
}

/** Runs a Redis call, turning driver errors into `BACKEND_UNAVAILABLE`. */
export async function guard<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw unavailable(`Redis ${what} failed`, error);
  }
}

/**
 * Runs an adapter call; when the adapter was closed while the call was in flight (the node is
 * stopping), the failure is reported as `NOT_CONNECTED` rather than as a backend outage.
 */
export async function whileOpen<T>(isOpen: () => boolean, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isOpen() && !(isClusterError(error) && error.code === ErrorCodes.NOT_CONNECTED)) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, `Redis ${what}: the adapter closed during the call`, {
        cause: error,
      });
    }
    throw unavailable(`Redis ${what} failed`, error);
  }
}

/** Closes a client politely (QUIT), falling back to a hard disconnect when Redis is gone. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end' || client.status === 'wait') {
    client.disconnect();
    return;
  }
  try {
    if (client.status !== 'ready') throw new Error('not ready');
    await Promise.race([client.quit(), new Promise((_, reject) => setTimeout(reject, 1_000).unref())]);
  } catch {
    client.disconnect();
  }
}

/** The refcounted connection set of one node. */
export class RedisConnections {
  /** Key prefix of everything the adapters write. */
  readonly prefix: string;
  readonly isCluster: boolean;
  private refs = 0;
  private opening?: Promise<void>;
  private commandClient?: RedisClient;
  private workerClient?: RedisClient;
  private workerOpening?: Promise<RedisClient>;
  private controlClient?: RedisClient;
  private controlOpening?: Promise<RedisClient>;
  private sub?: RedisSubscriber;

  constructor(
    readonly source: RedisConnectionOptions,
    prefix: string,
  ) {
    this.prefix = prefix;
    this.isCluster = !!source.cluster || source.client instanceof Cluster;
  }

  /** Connect timeout in ms. */
  get connectTimeoutMs(): number {
    return this.source.connectTimeoutMs ?? 10_000;
  }

  /** Opens the command connection (first caller) and counts the caller. */
  async open(): Promise<void> {
    this.refs += 1;
    if (!this.opening) {
      this.opening = (async () => {
        const client = createClient(this.source, 'command');
        client.on('error', () => {}); // reconnects are ioredis' job; failures surface on the calls
        batchWrites(client);
        this.commandClient = client;
        await connectClient(client, this.connectTimeoutMs, 'command');
      })();
    }
    try {
      await this.opening;
    } catch (error) {
      this.refs -= 1;
      if (this.refs === 0) await this.shutdown();
      throw error;
    }
  }

  /** Uncounts a caller; the last one closes every connection. */
  async release(): Promise<void> {
    if (this.refs === 0) return;
    this.refs -= 1;
    if (this.refs === 0) await this.shutdown();
  }

  /** True while at least one adapter holds the connections open. */
  get isOpen(): boolean {
    return this.refs > 0 && this.commandClient !== undefined;
  }

  /** The fail-fast command connection. Throws `NOT_CONNECTED` before `open()`. */
  get command(): RedisClient {
    if (!this.commandClient || this.refs === 0) {
      throw new ClusterError(ErrorCodes.NOT_CONNECTED, 'Redis adapter is not connected (call app.start() first)');
    }
    return this.commandClient;
  }

  /** The workers' shared normal connection, created on first use. */
  worker(): Promise<RedisClient> {
    this.workerOpening ??= this.openExtra('worker', (client) => (this.workerClient = client)).catch((error) => {
      this.workerOpening = undefined;
      throw error;
    });
    return this.workerOpening;
  }

  /** The node's fail-fast wake-up connection, created on first use. */
  control(): Promise<RedisClient> {
    this.controlOpening ??= this.openExtra('control', (client) => (this.controlClient = client)).catch((error) => {
      this.controlOpening = undefined;
      throw error;
    });
    return this.controlOpening;
  }

  /** The control client when it is open (wake-ups fall back to the command connection otherwise). */
  get openControl(): RedisClient | undefined {
    return this.controlClient?.status === 'ready' ? this.controlClient : undefined;
  }

  private async openExtra(role: 'worker' | 'control', keep: (client: RedisClient | undefined) => void) {
    const client = createClient(this.source, role);
    client.on('error', () => {});
    // Not batched (unlike the command connection): batching the workers' finishes measured no gain
    // and more Redis CPU per message (docs/performance.md, "Redis eventQueue throughput").
    keep(client);
    try {
      await connectClient(client, this.connectTimeoutMs, role);
    } catch (error) {
      keep(undefined);
      throw error;
    }
    return client;
  }

  /** The node's subscriber connection, created on first use. */
  get subscriber(): RedisSubscriber {
    this.sub ??= new RedisSubscriber(() => createClient(this.source, 'subscriber'), this.connectTimeoutMs);
    return this.sub;
  }

  private async shutdown(): Promise<void> {
    const sub = this.sub;
    const clients = [this.commandClient, this.workerClient, this.controlClient];
    this.sub = undefined;
    this.commandClient = undefined;
    this.workerClient = undefined;
    this.workerOpening = undefined;
    this.controlClient = undefined;
    this.controlOpening = undefined;
    this.opening = undefined;
    await Promise.all([sub?.close(), ...clients.map((c) => (c ? closeClient(c) : undefined))]);
  }
}
