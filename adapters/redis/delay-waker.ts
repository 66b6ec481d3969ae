/**
 * Starts delayed jobs on time. A BullMQ worker learns that a delayed job is due by blocking on the
 * queue's marker with a timeout, and Redis checks blocking timeouts on its server tick, so a job
 * starts up to 1000/hz ms late (about 100 ms with the default `hz 10`). The waker keeps a
 * client-side timer for the earliest delayed job and, when it is due, adds the base marker that
 * BullMQ itself adds for ready jobs (`ZADD <marker> 0 "0"`): the blocked worker wakes at once, and
 * its `moveToActive` promotes every due delayed job.
 *
 * It learns about new delayed jobs from the `delayed` set (on start and after each wake: the earliest
 * job that is not due yet) and from the `due` notifications that publishers send (see
 * {@link DueAnnouncer}). The marker goes out on the node's control connection, so a wake-up never
 * waits behind a burst of publishes on the command connection.
 */
import { timerDelay } from 'clusterkit/adapter-kit';
import { bullKey } from './bull-names.js';
import type { RedisConnections } from './connection.js';

/** BullMQ's delayed score is `timestamp * 0x1000 + sequence`. */
const SCORE_FACTOR = 0x1000;
/** While due jobs stay unpromoted (consumers gated or busy), look again this much later, in ms. */
const RECHECK_DUE_MS = 250;
/** The lowest sequence bits of a delayed score: `(<now> * 0x1000 + MAX_SEQUENCE)` is "due by now". */
const MAX_SEQUENCE = 0xfff;

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
    await this.connections.control();
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
    this.arm();
  }

  /** One timer towards `dueAt`; a due time beyond one timer's reach takes a chain of them. */
  private arm(): void {
    const wait = this.dueAt - Date.now();
    this.timer = setTimeout(() => (wait > timerDelay(wait) ? this.arm() : this.fire()), timerDelay(wait));
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
    const client = this.connections.openControl ?? this.connections.command;
    client
      .zadd(bullKey(this.connections.prefix, this.queue, 'marker'), 0, '0')
      .then(() => this.peek())
      .catch((error: unknown) => this.onError(error));
  }

  /**
   * Arms the timer for the earliest delayed job that is not due yet — not for the head of the set,
   * which right after a wake is usually the job that just became due and is being promoted. Due
   * jobs still waiting (consumers busy or gated: they promote them when they next fetch) only get a
   * slow recheck; waking again at once would spin.
   */
  private async peek(): Promise<void> {
    if (this.closed || !this.connections.isOpen) return;
    const key = bullKey(this.connections.prefix, this.queue, 'delayed');
    const now = Date.now();
    const client = this.connections.command;
    const [head, next] = (await Promise.all([
      client.call('ZRANGE', key, '0', '0', 'WITHSCORES'),
      client.call(
        'ZRANGEBYSCORE',
        key,
        `(${now * SCORE_FACTOR + MAX_SEQUENCE}`,
        '+inf',
        'WITHSCORES',
        'LIMIT',
        '0',
        '1',
      ),
    ])) as [unknown[], unknown[]];
    // RESP2 replies [member, score]; RESP3 [[member, score]].
    const dueOf = (reply: unknown[]) => {
      const score = reply.flat()[1];
      return score === undefined ? undefined : Math.floor(Number(score) / SCORE_FACTOR);
    };
    const nextDue = dueOf(next);
    if (nextDue !== undefined) this.schedule(nextDue);
    const headDue = dueOf(head);
    if (headDue !== undefined && headDue <= now) this.schedule(Date.now() + RECHECK_DUE_MS);
  }
}

/**
 * Sends "a delayed job of `queue` is due at <t>" for a node's publishes, but only when <t> is
 * earlier than what this node has already announced and is still pending: the wakers arm for the
 * earliest announcement and, when it fires, read the next not-yet-due job from the delayed set
 * themselves. A burst of 1,000 delayed publishes then costs one notification, not 1,000.
 */
export class DueAnnouncer {
  private readonly announced = new Map<string, number>();

  constructor(private readonly connections: RedisConnections) {}

  /** Announces `dueAt` (epoch ms) for `queue` when it is the earliest pending one; resolves once sent. */
  async announce(queue: string, dueAt: number): Promise<void> {
    const pending = this.announced.get(queue);
    if (pending !== undefined && pending > Date.now() && pending <= dueAt) return;
    this.announced.set(queue, dueAt);
    await this.connections.command.publish(dueChannel(this.connections.prefix, queue), String(dueAt));
  }
}
