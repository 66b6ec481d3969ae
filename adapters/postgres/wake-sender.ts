/**
 * Wake-ups for a queue's consumers after publishes, sent as their own tiny statement (`SELECT
 * pg_notify(...)`) after the publish has committed, and coalesced: at most one is on the wire per
 * queue, and the publishes that commit meanwhile are covered by one more after it.
 *
 * Used while several publishes of the node are on the wire (a lone publish notifies in its own
 * statement). Why not always NOTIFY inside the publishing statement: PostgreSQL serializes the
 * commits of all notifying transactions of a database (a lock held through the WAL flush), which
 * turns N concurrent publishes into N sequential disk flushes. A transaction that only notifies writes no
 * WAL, so it holds that lock for an instant. (A publish inside the caller's own transaction still
 * notifies in that transaction: the wake-up must not come before its commit.)
 */
import type { PgConnections } from './connection.js';

interface QueueWake {
  sending: boolean;
  /** Another wake-up is owed once the one on the wire is done: smallest delay asked for (0 = now). */
  owed: number | undefined;
}

/** The wake-up sender of one node's event-queue adapter. */
export class WakeSender {
  private readonly queues = new Map<string, QueueWake>();

  constructor(
    private readonly c: PgConnections,
    private readonly onError: (error: unknown, meta: Record<string, unknown>) => void,
  ) {}

  /** Wakes the consumers of the queue whose wake payload is `payload`, `delayMs` from now. */
  wake(payload: string, delayMs: number): void {
    let state = this.queues.get(payload);
    if (!state) this.queues.set(payload, (state = { sending: false, owed: undefined }));
    state.owed = state.owed === undefined ? delayMs : Math.min(state.owed, delayMs);
    if (!state.sending) void this.send(payload, state);
  }

  private async send(payload: string, state: QueueWake): Promise<void> {
    state.sending = true;
    try {
      while (state.owed !== undefined) {
        const delayMs = state.owed;
        state.owed = undefined;
        const text = delayMs > 0 ? `${payload}${Math.ceil(delayMs)}` : payload;
        try {
          await this.c.query('wake consumers', 'SELECT pg_notify($1, $2)', [this.c.channels.queue, text]);
        } catch (error) {
          // The consumers' backstop poll finds the message; nothing is lost.
          this.onError(error, { source: 'wake consumers' });
        }
      }
    } finally {
      state.sending = false;
      if (state.owed === undefined) this.queues.delete(payload);
    }
  }
}
