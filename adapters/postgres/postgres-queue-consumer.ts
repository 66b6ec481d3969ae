/**
 * One consumer of one queue on one node. It takes messages with `FOR UPDATE SKIP LOCKED` (never
 * more than its free slots, so messages it cannot run yet stay queued in priority order), leases
 * them (`locked_until`, renewed while handlers run), and turns each {@link DeliveryOutcome} into
 * one guarded statement. It looks for work when told to — a NOTIFY for its queue, a slot freed
 * after a full fetch, a delayed message falling due, the LISTEN connection coming back — and on a
 * slow backstop poll; never on a tight loop. It also reaps lapsed leases of its queue (a crashed
 * node's messages) and honours the `isIdle` gate.
 */
import { randomUUID } from 'node:crypto';
import {
  serializeError,
  type ConsumeOptions,
  type Delivery,
  type DeliveryOutcome,
  type QueueConsumer,
  timerDelay,
} from 'clusterkit/adapter-kit';
import { AckBatcher } from './ack-batcher.js';
import { withBound, type PgConnections } from './connection.js';
import { md5 } from './names.js';
import type { ResolvedQueueOptions } from './options.js';
import type { QueueSql } from './queue-sql.js';

/** Longest wait for settle statements after the handlers are done, on close, in ms. */
const CLOSE_BOUND_MS = 5_000;
/** Wait after a failed fetch (database down) before trying again, in ms. */
const FETCH_RETRY_MS = 500;

interface Row {
  id: string;
  body: string;
  attempt: number;
  priority: number;
  seq: string;
  deliveries: number;
}

/** A running consumer; see the module comment. */
export class PostgresQueueConsumer implements QueueConsumer {
  private readonly consumerId = randomUUID();
  private readonly wakePayload: string;
  private readonly acks: AckBatcher;
  /** Active deliveries by id → delivery number (for the lease renewal and the guarded settles). */
  private readonly active = new Map<string, number>();
  private readonly settling = new Set<Promise<void>>();
  private inFlight = 0;
  private fetching = false;
  /** Work may be waiting: set by a wake-up, cleared by a fetch that came back short. */
  private wanted = true;
  private closing?: Promise<void>;
  private readonly timers: NodeJS.Timeout[] = [];
  private gateTimer: NodeJS.Timeout | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = Infinity;
  private readonly unlisten: (() => void)[] = [];

  constructor(
    private readonly c: PgConnections,
    private readonly sql: QueueSql,
    private readonly queue: string,
    private readonly consume: ConsumeOptions,
    private readonly deliver: (delivery: Delivery) => Promise<DeliveryOutcome>,
    private readonly options: ResolvedQueueOptions,
  ) {
    this.wakePayload = md5(queue);
    const keep = options.keepCompleted.count > 0 || options.keepCompleted.ageMs !== undefined;
    this.acks = new AckBatcher(c, keep ? sql.ackKeep : sql.ack, queue, this.consumerId);
  }

  /** Starts listening for wake-ups, reaps lapsed leases once, and takes what is waiting. */
  async start(): Promise<void> {
    const listener = this.c.listener;
    this.unlisten.push(listener.on(this.c.channels.queue, (payload) => this.onNotify(payload)));
    this.unlisten.push(listener.onReconnect(() => this.wake()));
    await this.reap();
    const o = this.options;
    this.every(o.pollIntervalMs, () => {
      this.wake();
      void this.armNextDue();
    });
    this.every(Math.max(50, Math.floor(o.leaseMs / 3)), () => void this.renewLeases());
    this.every(o.reapIntervalMs, () => void this.reap());
    await this.armNextDue();
    this.pump();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const off of this.unlisten.splice(0)) off();
      for (const timer of this.timers.splice(0)) clearInterval(timer);
      clearTimeout(this.gateTimer);
      clearTimeout(this.dueTimer);
      // Handlers settle on their own (the manager bounds them); their statements get a bounded wait.
      await this.idle();
      await withBound(Promise.allSettled([...this.settling]), CLOSE_BOUND_MS);
      await withBound(this.acks.drain(), CLOSE_BOUND_MS);
    })();
    return this.closing;
  }

  /** Something may be waiting: look now. */
  private wake(): void {
    this.wanted = true;
    this.pump();
  }

  private onNotify(payload: string): void {
    if (!payload.startsWith(this.wakePayload)) return;
    const rest = payload.slice(this.wakePayload.length);
    if (rest === '') return this.wake();
    const delayMs = Number(rest);
    // Measured from when the notification arrives (after the commit), so never early.
    if (Number.isFinite(delayMs) && delayMs > 0) this.armDue(delayMs);
    else this.wake();
  }

  /** Takes as many messages as there are free slots, if the gate is open. */
  private pump(): void {
    if (this.closing || this.fetching || !this.wanted) return;
    // Behind an `isIdle` gate, one message per fetch: the gate is asked before each message is taken
    // (a batch would start several at once behind a gate that admits one).
    const free = Math.min(this.consume.concurrency - this.inFlight, this.consume.isIdle ? 1 : Infinity);
    if (free <= 0) return;
    if (this.consume.isIdle && !this.gateOpen()) {
      // Ask again later; the work stays queued meanwhile.
      this.gateTimer ??= setTimeout(() => {
        this.gateTimer = undefined;
        this.pump();
      }, this.consume.idleRecheckMs ?? 100);
      return;
    }
    this.fetching = true;
    this.wanted = false;
    void this.fetch(free).finally(() => {
      this.fetching = false;
      this.idleWaiter?.();
      this.pump();
    });
  }

  private async fetch(free: number): Promise<void> {
    let rows: Row[];
    try {
      const result = await this.c.queryRelaxed<Row>('fetch', this.sql.fetch, [
        this.queue,
        free,
        this.consumerId,
        this.options.leaseMs,
      ]);
      rows = result.rows;
    } catch (error) {
      if (!this.closing) {
        this.options.onError(error, { queue: this.queue, source: 'fetch' });
        setTimeout(() => this.wake(), FETCH_RETRY_MS).unref();
      }
      return;
    }
    if (this.closing) {
      // Taken in the instant the consumer began closing: hand them back untouched.
      if (rows.length > 0) await this.handBack(rows);
      return;
    }
    // A full fetch means more may be waiting: look again as soon as a slot frees.
    if (rows.length >= free) this.wanted = true;
    rows.sort((a, b) => a.priority - b.priority || Number(BigInt(a.seq) - BigInt(b.seq)));
    for (const row of rows) this.run(row);
  }

  private run(row: Row): void {
    this.inFlight += 1;
    this.active.set(row.id, row.deliveries);
    let outcome: Promise<DeliveryOutcome>;
    try {
      outcome = this.deliver({ id: row.id, body: row.body, attempt: row.attempt });
    } catch (error) {
      outcome = Promise.reject(error);
    }
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.active.delete(row.id);
      this.inFlight -= 1;
      this.idleWaiter?.();
      this.pump();
    };
    const settled = outcome
      .catch((error: unknown): DeliveryOutcome => ({ type: 'dead', error: serializeError(error) }))
      .then((o) => {
        const writing = this.settle(row, o);
        // An ack rides the batcher (guarded by lease and delivery number, so it stays safe however
        // late it lands): the slot is free as soon as the handler is done, and the next message is
        // not held behind the ack's round trip. Other outcomes free it once written.
        if (o.type === 'ack') free();
        return writing;
      })
      .catch((error: unknown) => this.options.onError(error, { queue: this.queue, id: row.id, source: 'settle' }))
      .finally(() => {
        this.settling.delete(settled);
        free();
      });
    this.settling.add(settled);
  }

  /** One guarded statement per outcome; a lease lost meanwhile makes it a no-op. */
  private async settle(row: Row, outcome: DeliveryOutcome): Promise<void> {
    const key = [this.queue, row.id, this.consumerId, row.deliveries];
    const ch = this.c.channels.queue;
    switch (outcome.type) {
      case 'ack':
        await this.acks.add(row.id, row.deliveries);
        return;
      case 'retry':
        await this.c.queryRelaxed('retry', this.sql.retry, [
          ...key,
          outcome.delayMs,
          JSON.stringify(outcome.error),
          ch,
          this.wakeFor(outcome.delayMs),
        ]);
        if (outcome.delayMs > 0) this.armDue(outcome.delayMs);
        return;
      case 'release':
        await this.c.queryRelaxed('release', this.sql.release, [
          ...key,
          outcome.delayMs,
          ch,
          this.wakeFor(outcome.delayMs),
        ]);
        if (outcome.delayMs > 0) this.armDue(outcome.delayMs);
        return;
      case 'dead':
        await this.c.queryRelaxed('dead-letter', this.sql.dead, [...key, JSON.stringify(outcome.error)]);
        return;
      default:
        await this.c.queryRelaxed('dead-letter', this.sql.dead, [
          ...key,
          JSON.stringify({ name: 'Error', message: `unknown delivery outcome ${JSON.stringify(outcome)}` }),
        ]);
    }
  }

  private wakeFor(delayMs: number): string {
    return delayMs > 0 ? `${this.wakePayload}${Math.ceil(delayMs)}` : this.wakePayload;
  }

  private async handBack(rows: Row[]): Promise<void> {
    await this.c
      .queryRelaxed('hand back', this.sql.releaseUnstarted, [
        this.queue,
        rows.map((r) => r.id),
        rows.map((r) => r.deliveries),
        this.consumerId,
      ])
      .catch((error: unknown) => this.options.onError(error, { queue: this.queue, source: 'hand back' }));
  }

  private async renewLeases(): Promise<void> {
    if (this.active.size === 0 || this.closing) return;
    await this.c
      .queryRelaxed('renew leases', this.sql.heartbeat, [
        this.queue,
        this.consumerId,
        this.options.leaseMs,
        [...this.active.keys()],
      ])
      .catch((error: unknown) => this.options.onError(error, { queue: this.queue, source: 'renew leases' }));
  }

  /** Lapsed leases of this queue back to waiting (or dead after too many stalls). */
  private async reap(): Promise<void> {
    if (this.closing) return;
    try {
      const { rows } = await this.c.queryRelaxed<{ back: number; dead: number }>('reap', this.sql.reap, [
        this.queue,
        this.options.maxStalledCount,
        JSON.stringify({
          name: 'Error',
          message: `message abandoned more than ${this.options.maxStalledCount} times (its node stopped responding)`,
        }),
      ]);
      if ((rows[0]?.back ?? 0) > 0) this.wake();
    } catch (error) {
      if (!this.closing) this.options.onError(error, { queue: this.queue, source: 'reap' });
    }
  }

  /** Arms the due timer for the earliest waiting message (a safety net for missed notifications). */
  private async armNextDue(): Promise<void> {
    try {
      const { rows } = await this.c.query<{ ms: number | null }>('next due', this.sql.nextDue, [this.queue]);
      const ms = rows[0]?.ms;
      if (ms === null || ms === undefined) return;
      if (ms <= 0) this.wake();
      else this.armDue(ms);
    } catch {
      // The database is away; the backstop poll asks again.
    }
  }

  private armDue(delayMs: number): void {
    if (this.closing) return;
    const at = Date.now() + delayMs + 1;
    if (at >= this.dueAt) return;
    clearTimeout(this.dueTimer);
    this.dueAt = at;
    // A due time beyond one timer's reach: the early wake finds nothing due and re-arms (a chain).
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = undefined;
        this.dueAt = Infinity;
        this.wake();
        void this.armNextDue();
      },
      timerDelay(at - Date.now()),
    );
  }

  private gateOpen(): boolean {
    try {
      return this.consume.isIdle!() !== false;
    } catch {
      return false;
    }
  }

  private idleWaiter: (() => void) | undefined;

  /** Resolves once no delivery is in flight and no fetch is running (a closing fetch hands its rows back first). */
  private idle(): Promise<void> {
    if (this.inFlight === 0 && !this.fetching) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiter = () => {
        if (this.inFlight > 0 || this.fetching) return;
        this.idleWaiter = undefined;
        resolve();
      };
    });
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
