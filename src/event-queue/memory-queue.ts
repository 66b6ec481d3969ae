/**
 * One in-process queue: records, their order, the consumers competing for them, and dead letters.
 * Every node sharing a memory backend works on the same instance, so each record is held by at
 * most one consumer at a time.
 *
 * Built for throughput: waiting records sit in a priority heap of FIFOs (lower priority first, publish
 * order within one); delayed records in a binary heap keyed by (due time, sequence) under ONE timer
 * for the earliest, joining the back of their priority when due; work is handed out in batches by a
 * single dispatch pass per burst of changes, and a slot freed by an ack pulls the next record itself.
 */
import { serializeError, type SerializedError } from '../errors.js';
import { timerDelay } from '../validation.js';
import { BinaryHeap } from './binary-heap.js';
import { PriorityFifo } from './priority-fifo.js';
import {
  ACTIVE,
  byDue,
  DEAD,
  DELAYED,
  gateOpen,
  WAITING,
  type MemoryConsumer,
  type MemoryRecord,
} from './memory-record.js';
import type { DeadLetter, DeliveryOutcome, QueueCounts, QueueRecord } from './types.js';

export type { MemoryConsumer } from './memory-record.js';

/** State and dispatch of one queue. */
export class MemoryQueue {
  private readonly records = new Map<string, MemoryRecord>();
  private readonly waiting = new PriorityFifo<MemoryRecord>();
  private readonly delayed = new BinaryHeap<MemoryRecord>(byDue);
  /** Insertion order = failure order, so listing is oldest first. */
  private readonly dead = new Map<string, MemoryRecord>();
  /** Replaced (never mutated) on attach/detach so a dispatch pass can iterate safely. */
  private consumers: MemoryConsumer[] = [];
  private active = 0;
  private seq = 0;
  /** Bumped by clear(): records of an older epoch settle into nothing. */
  private epoch = 0;
  private rr = 0;
  private pass = 0;
  private scheduled = false;
  private dueTimer: NodeJS.Timeout | undefined;
  private dueTimerAt = Infinity;
  private recheckTimer: NodeJS.Timeout | undefined;

  /** Stores a record unless its id exists in any state (idempotent publish). */
  add(record: QueueRecord): void {
    if (this.records.has(record.id)) return;
    const rec: MemoryRecord = {
      id: record.id,
      body: record.body,
      priority: record.priority,
      seq: ++this.seq,
      attempt: 0,
      state: WAITING,
      epoch: this.epoch,
      dueAt: 0,
      // Every field present from the start keeps one hidden class for all records.
      error: undefined,
      failedAt: 0,
    };
    this.records.set(rec.id, rec);
    if (record.delayMs > 0) {
      rec.state = DELAYED;
      rec.dueAt = Date.now() + record.delayMs;
      this.delayed.push(rec);
    } else {
      this.waiting.push(rec);
    }
    if (this.consumers.length > 0) this.schedule();
  }

  /** Adds a competing consumer. */
  attach(consumer: MemoryConsumer): void {
    this.consumers = [...this.consumers, consumer];
    this.schedule();
  }

  /** Stops giving `consumer` work; resolves once its in-flight deliveries have settled. */
  detach(consumer: MemoryConsumer): Promise<void> {
    if (!consumer.closing) {
      consumer.closing = true;
      this.consumers = this.consumers.filter((c) => c !== consumer);
      if (this.consumers.length === 0) this.clearTimers();
    }
    if (consumer.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = consumer.drained;
      consumer.drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Record counts; delayed records that are due count as waiting. */
  counts(): QueueCounts {
    if (this.delayed.size > 0) this.promoteDue(Date.now());
    return { waiting: this.waiting.size, delayed: this.delayed.size, active: this.active, dead: this.dead.size };
  }

  /** Dead letters, oldest first. */
  listDead(offset: number, limit: number): DeadLetter[] {
    const out: DeadLetter[] = [];
    let i = 0;
    for (const rec of this.dead.values()) {
      if (i++ < offset) continue;
      if (out.length >= limit) break;
      out.push({
        id: rec.id,
        body: rec.body,
        attempt: rec.attempt,
        error: rec.error ?? { name: 'Error', message: 'unknown' },
        failedAt: rec.failedAt,
      });
    }
    return out;
  }

  /** Moves dead letters (all when `ids` is omitted) back to waiting with attempt 0. */
  redrive(ids?: readonly string[]): number {
    let moved = 0;
    for (const rec of this.pickDead(ids)) {
      this.dead.delete(rec.id);
      rec.attempt = 0;
      rec.error = undefined;
      rec.seq = ++this.seq;
      rec.state = WAITING;
      this.waiting.push(rec);
      moved++;
    }
    if (moved > 0 && this.consumers.length > 0) this.schedule();
    return moved;
  }

  /** Deletes dead letters (all when `ids` is omitted). */
  deleteDead(ids?: readonly string[]): number {
    let removed = 0;
    for (const rec of this.pickDead(ids)) {
      this.dead.delete(rec.id);
      this.records.delete(rec.id);
      removed++;
    }
    return removed;
  }

  /** Drops every record; in-flight deliveries settle into nothing. Consumers stay attached. */
  clear(): void {
    this.records.clear();
    this.waiting.clear();
    this.delayed.clear();
    this.dead.clear();
    this.active = 0;
    this.epoch++;
    this.clearTimers();
  }

  private pickDead(ids?: readonly string[]): MemoryRecord[] {
    if (ids === undefined) return [...this.dead.values()];
    const out: MemoryRecord[] = [];
    for (const id of new Set(ids)) {
      const rec = this.dead.get(id);
      if (rec) out.push(rec);
    }
    return out;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // A microtask, not a macrotask: every change made in one synchronous stretch (a burst of
    // publishes, a batch of settles) is handed out by one pass, with no timer latency.
    queueMicrotask(this.runDispatch);
  }

  private readonly runDispatch = (): void => {
    this.scheduled = false;
    this.dispatch();
  };

  private dispatch(): void {
    if (this.delayed.size > 0) this.promoteDue(Date.now());
    const consumers = this.consumers;
    const n = consumers.length;
    const pass = ++this.pass;
    let recheckMs = Infinity;
    let progress = n > 0;
    // Round robin, one record per consumer per round, so competing nodes share the load.
    while (progress && this.waiting.size > 0) {
      progress = false;
      for (let k = 0; k < n && this.waiting.size > 0; k++) {
        const c = consumers[(this.rr + k) % n] as MemoryConsumer;
        if (c.closing || c.inFlight >= c.concurrency || c.gatedPass === pass) continue;
        if (c.isIdle !== undefined && !gateOpen(c)) {
          c.gatedPass = pass;
          recheckMs = Math.min(recheckMs, c.idleRecheckMs);
          continue;
        }
        this.start(c, this.waiting.pop() as MemoryRecord);
        progress = true;
      }
      this.rr = n > 0 ? (this.rr + 1) % n : 0;
    }
    if (recheckMs !== Infinity && this.waiting.size > 0 && this.recheckTimer === undefined) {
      this.recheckTimer = setTimeout(this.onRecheck, recheckMs);
    }
    this.armDueTimer();
  }

  private start(c: MemoryConsumer, rec: MemoryRecord): void {
    rec.state = ACTIVE;
    this.active++;
    c.inFlight++;
    let outcome: Promise<DeliveryOutcome>;
    try {
      outcome = c.deliver(rec);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    void outcome.then(
      (o) => this.settle(c, rec, o),
      (error: unknown) => this.settle(c, rec, { type: 'dead', error: serializeError(error) }),
    );
  }

  private settle(c: MemoryConsumer, rec: MemoryRecord, outcome: DeliveryOutcome): void {
    c.inFlight--;
    // After clear() the record is gone; only the consumer's bookkeeping remains to do.
    if (rec.state === ACTIVE && rec.epoch === this.epoch) {
      this.active--;
      switch (outcome?.type) {
        case 'ack':
          this.records.delete(rec.id);
          break;
        case 'retry':
          rec.attempt++;
          rec.error = outcome.error;
          rec.seq = ++this.seq;
          this.requeue(rec, outcome.delayMs, false);
          break;
        case 'release':
          // Same attempt and same place in line: it was never really tried.
          this.requeue(rec, outcome.delayMs, true);
          break;
        case 'dead':
          this.bury(rec, outcome.error);
          break;
        default:
          this.bury(rec, { name: 'Error', message: `unknown delivery outcome ${JSON.stringify(outcome)}` });
      }
    }
    if (c.closing) {
      if (c.inFlight === 0) c.drained?.();
    } else if (outcome?.type === 'ack' && this.waiting.size > 0 && (c.isIdle === undefined || gateOpen(c))) {
      // The freed slot pulls the next record at once: no extra dispatch pass or microtask per message.
      // (Only after an ack: any other outcome may have queued or delayed something a pass must see.)
      this.start(c, this.waiting.pop() as MemoryRecord);
      return;
    }
    if (this.consumers.length > 0) this.schedule();
  }

  private bury(rec: MemoryRecord, error: SerializedError): void {
    rec.attempt++;
    rec.error = error;
    rec.state = DEAD;
    rec.failedAt = Date.now();
    this.dead.set(rec.id, rec);
  }

  /** Back in line after `delayMs`: at the back of its priority, or (`inPlace`) where its sequence puts it. */
  private requeue(rec: MemoryRecord, delayMs: number, inPlace: boolean): void {
    if (delayMs > 0) {
      rec.state = DELAYED;
      rec.dueAt = Date.now() + delayMs;
      this.delayed.push(rec);
    } else {
      rec.state = WAITING;
      if (inPlace) this.waiting.restore(rec);
      else this.waiting.push(rec);
    }
  }

  private promoteDue(now: number): void {
    let next = this.delayed.peek();
    while (next !== undefined && next.dueAt <= now) {
      this.delayed.pop();
      next.state = WAITING;
      this.waiting.push(next);
      next = this.delayed.peek();
    }
  }

  /** Keeps the single delayed-record timer pointed at the earliest due time (only while consumed). */
  private armDueTimer(): void {
    const next = this.consumers.length > 0 ? this.delayed.peek() : undefined;
    if (next === undefined) {
      if (this.dueTimer !== undefined) this.clearDueTimer();
      return;
    }
    if (this.dueTimer !== undefined && this.dueTimerAt === next.dueAt) return;
    this.clearDueTimer();
    this.dueTimerAt = next.dueAt;
    // Chained: a due time beyond one timer's reach fires early, finds nothing due and re-arms.
    this.dueTimer = setTimeout(this.onDue, timerDelay(next.dueAt - Date.now()));
  }

  private readonly onDue = (): void => {
    this.dueTimer = undefined;
    this.dueTimerAt = Infinity;
    this.schedule();
  };

  private readonly onRecheck = (): void => {
    this.recheckTimer = undefined;
    this.schedule();
  };

  private clearDueTimer(): void {
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueTimerAt = Infinity;
  }

  private clearTimers(): void {
    this.clearDueTimer();
    clearTimeout(this.recheckTimer);
    this.recheckTimer = undefined;
  }
}
