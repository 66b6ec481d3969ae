/**
 * Starts delayed jobs on time. A BullMQ worker learns that a delayed job is due by blocking on the
 * queue's marker with a timeout, and Redis checks blocking timeouts on its server tick, so a job
 * starts up to 1000/hz ms late (about 100 ms with the default `hz 10`). The waker keeps a
 * client-side timer for the earliest delayed job and, when it is due, adds the base marker that
 * BullMQ itself adds for ready jobs (`ZADD <marker> 0 "0"`): the blocked worker wakes at once, and
 * its `moveToActive` promotes every due delayed job.
 *
 * It learns about new delayed jobs from the head of the `delayed` set (on start and after each
 * wake) and from the `due` notifications that every publisher of a delayed job (or retry) sends.
 */
import { bullKey } from './bull-names.js';
import type { RedisConnections } from './connection.js';

/** BullMQ's delayed score is `timestamp * 0x1000 + sequence`. */
const SCORE_FACTOR = 0x1000;
/** When the head is already due, look again this much later, in ms. */
const RECHECK_DUE_MS = 250;

/** The pub/sub channel announcing "a delayed job of `queue` is due at <epoch ms>". */
export function dueChannel(prefix: string, queue: string): string {
  return `${prefix}:q:due:${queue}`;
}

/** One queue's wake timer on one node. */
export class DelayWaker {
  private timer?: NodeJS.Timeout;
  private dueAt = Infinity;
  private closed = false;
  private unlisten?: () => Promise<void>;

  constructor(
    private readonly connections: RedisConnections,
    private readonly queue: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Listens for due notifications and arms the timer for the current head of the delayed set. */
  async start(): Promise<void> {
    this.unlisten = await this.connections.subscriber.listen(dueChannel(this.connections.prefix, this.queue), (m) =>
      this.schedule(Number(m)),
    );
    await this.peek();
  }

  /** Arms the timer for `dueAt` (epoch ms) if that is earlier than the one armed. */
  schedule(dueAt: number): void {
    if (this.closed || !Number.isFinite(dueAt) || dueAt >= this.dueAt) return;
    clearTimeout(this.timer);
    this.dueAt = dueAt;
    this.timer = setTimeout(() => this.fire(), Math.max(0, dueAt - Date.now()));
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.unlisten?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.dueAt = Infinity;
    if (this.closed || !this.connections.isOpen) return;
    const client = this.connections.command;
    client
      .zadd(bullKey(this.connections.prefix, this.queue, 'marker'), 0, '0')
      .then(() => this.peek())
      .catch((error: unknown) => this.onError(error));
  }

  /** Arms the timer for the earliest job still in the delayed set. */
  private async peek(): Promise<void> {
    if (this.closed || !this.connections.isOpen) return;
    const key = bullKey(this.connections.prefix, this.queue, 'delayed');
    const head = (await this.connections.command.call('ZRANGE', key, '0', '0', 'WITHSCORES')) as unknown[];
    // RESP2 replies [member, score]; RESP3 [[member, score]].
    const score = head.flat()[1];
    if (score === undefined) return;
    const dueAt = Math.floor(Number(score) / SCORE_FACTOR);
    // A head already due is being promoted right now, or its consumers are busy or gated (they
    // promote it when they next fetch); waking again at once would only spin.
    this.schedule(dueAt > Date.now() ? dueAt : Date.now() + RECHECK_DUE_MS);
  }
}
