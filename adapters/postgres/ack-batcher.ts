/**
 * Acknowledgements of one consumer, written in batches: the first ack goes out at once, and the
 * acks that arrive while a statement is on the wire go out together in the next one (one DELETE
 * for many rows). Nothing waits on a timer, so a lone ack costs one round trip and a busy consumer
 * costs one per batch. Each `add` resolves when its own row's statement has finished.
 */
import type { PgConnections } from './connection.js';

interface Pending {
  readonly id: string;
  readonly deliveries: number;
  readonly done: { resolve: () => void; reject: (error: unknown) => void };
}

/** Batches the guarded DELETE of acknowledged messages. */
export class AckBatcher {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly c: PgConnections,
    private readonly statement: string,
    private readonly queue: string,
    private readonly consumerId: string,
  ) {}

  /** Queues the ack of one delivery; resolves once it is written. */
  add(id: string, deliveries: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ id, deliveries, done: { resolve, reject } });
      this.flushing ??= this.flush();
    });
  }

  /** Resolves when every queued ack has been written (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.c.queryRelaxed('ack', this.statement, [
            this.queue,
            batch.map((p) => p.id),
            batch.map((p) => p.deliveries),
            this.consumerId,
          ]);
          for (const p of batch) p.done.resolve();
        } catch (error) {
          for (const p of batch) p.done.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}
