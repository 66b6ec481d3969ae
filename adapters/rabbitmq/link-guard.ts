/**
 * Bounded waits for everything a stop does on the AMQP link.
 *
 * Why: amqplib settles `channel.close()` and `connection.close()` only when the broker's CloseOk
 * arrives. If the link dies while a close is in flight, amqplib closes the channel (and emits its
 * `'close'` event) but never settles that promise; on a silent partition (no FIN, no RST) nothing
 * happens until the heartbeat gives up, minutes later with a long heartbeat. An RPC waiting for its
 * reply on a channel that is closing hangs the same way (pending replies are only failed once the
 * channel is fully closed). So every wait of a stop path is raced against three things: the
 * operation, the channel's `'close'` event (amqplib emits it on a connection loss too), and a
 * deadline. A wait that hits its deadline marks the link *unresponsive*: every later (and every
 * pending) guarded wait on that connection settles at once, so one frozen link costs one deadline,
 * not one per channel; and the final connection close then destroys the socket instead of waiting.
 */
import type { Channel, ChannelModel } from 'amqplib';

/** Longest wait of one stop-path step (a cancel, the ack flush, a channel or connection close), in ms. */
export const STOP_STEP_TIMEOUT_MS = 4_000;

/** How a guarded wait ended. */
export type StepOutcome<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false; readonly why: 'failed' | 'closed' | 'timeout' | 'unresponsive'; readonly error?: unknown };

const closedChannels = new WeakMap<object, Promise<void>>();

/**
 * Remembers when `channel` closes (call it right after creating the channel: the event fires once).
 * Every channel made through `RabbitMQConnection` is tracked.
 */
export function trackClose(channel: Channel | ChannelModel): void {
  if (closedChannels.has(channel)) return;
  closedChannels.set(channel, new Promise<void>((resolve) => channel.once('close', () => resolve())));
}

/** Resolves once `channel` (or connection) has closed, for whatever reason. */
export function whenClosed(channel: Channel | ChannelModel): Promise<void> {
  trackClose(channel);
  return closedChannels.get(channel)!;
}

/**
 * Resolves on the channel's next `'drain'` or its `'close'`, whichever comes first; both listeners
 * go then (a channel that drains many times must not collect one stale listener per wait).
 */
export function whenDrained(channel: Channel): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      channel.off('drain', done);
      channel.off('close', done);
      resolve();
    };
    channel.on('drain', done);
    channel.on('close', done);
  });
}

/**
 * Waits for `op`, for at most `timeoutMs`, and not past `closed` or `unresponsive`, whichever comes
 * first. Never rejects; a rejection of `op` after the race is swallowed.
 */
export async function race<T>(
  op: Promise<T>,
  timeoutMs: number,
  closed?: Promise<void>,
  unresponsive?: Promise<void>,
): Promise<StepOutcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const outcomes: Promise<StepOutcome<T>>[] = [
    op.then(
      (value) => ({ done: true, value }) as const,
      (error: unknown) => ({ done: false, why: 'failed', error }) as const,
    ),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve({ done: false, why: 'timeout' }), timeoutMs);
    }),
  ];
  if (closed) outcomes.push(closed.then(() => ({ done: false, why: 'closed' }) as const));
  if (unresponsive) outcomes.push(unresponsive.then(() => ({ done: false, why: 'unresponsive' }) as const));
  try {
    return await Promise.race(outcomes);
  } finally {
    clearTimeout(timer);
  }
}

/** The guard of one connection; see the module comment. */
export class LinkGuard {
  private unresponsive = deferred();
  private tripped = false;
  /** Bumped by {@link reset}: a step that started on an older connection cannot condemn the new one. */
  private epoch = 0;

  /** True once a guarded wait on the current connection hit its deadline. */
  get isUnresponsive(): boolean {
    return this.tripped;
  }

  /** A new connection is up: its link starts out trusted. */
  reset(): void {
    this.epoch += 1;
    if (!this.tripped) return;
    this.tripped = false;
    this.unresponsive = deferred();
  }

  /** Settles every pending and later guarded wait at once (until {@link reset}). */
  giveUp(): void {
    if (this.tripped) return;
    this.tripped = true;
    this.unresponsive.resolve();
  }

  /**
   * Waits for `op` (an RPC on `channel`, or anything else a stop awaits) until it settles, the
   * channel closes, or `timeoutMs` passes — which also marks the link unresponsive. Never rejects.
   */
  async step<T>(op: Promise<T>, channel?: Channel, timeoutMs = STOP_STEP_TIMEOUT_MS): Promise<StepOutcome<T>> {
    const epoch = this.epoch;
    const outcome = await race(
      op,
      this.tripped ? 0 : timeoutMs,
      channel && whenClosed(channel),
      this.unresponsive.promise,
    );
    if (!outcome.done && outcome.why === 'timeout' && epoch === this.epoch) this.giveUp();
    return outcome;
  }

  /** Closes `channel`: settles on CloseOk, on its `'close'` event or after the deadline. Never rejects. */
  async closeChannel(channel: Channel | undefined): Promise<void> {
    if (!channel) return;
    let closing: Promise<void>;
    try {
      closing = channel.close();
    } catch {
      return; // already closed or closing
    }
    await this.step(closing, channel);
  }

  /**
   * Closes a connection through `close` (which sends Close and waits for CloseOk): settles on
   * CloseOk, on the connection's `'close'` event, or after the deadline — and then destroys the
   * socket, so no frozen link outlives the stop. Never rejects.
   */
  async closeConnection(model: ChannelModel | undefined, close: () => Promise<void>): Promise<void> {
    const closing = close();
    const outcome = await race(
      closing,
      this.tripped ? 0 : STOP_STEP_TIMEOUT_MS,
      model && whenClosed(model),
      this.unresponsive.promise,
    );
    if (outcome.done || outcome.why === 'closed' || !model) return;
    // With an error: amqplib learns of a dead socket only through 'error' or 'end', and then stops its heartbeat timers.
    socketOf(model)?.destroy(new Error('RabbitMQ connection close timed out; socket destroyed'));
  }
}

/** amqplib keeps the socket on `connection.stream` (not in its typings). */
function socketOf(model: ChannelModel): { destroy(error?: Error): void } | undefined {
  return (model.connection as unknown as { stream?: { destroy(error?: Error): void } }).stream;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
