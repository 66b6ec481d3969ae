/**
 * Cross-node job notifications on the pub/sub manager: "job X finished" (so `waitForJob` on any
 * node resolves without polling) and "abort job X" (`cancel({ abortActive })` reaches the node
 * running it). Pub/sub is at-most-once, so a waiter also reads the record once after subscribing:
 * a job that finished before the wait began is seen there, and nothing finished is missed.
 */
import type { SerializedError } from '../errors.js';
import type { PubSubManager } from '../pub-sub/pub-sub-manager.js';
import type { ManagedJobState } from './types.js';

/** A finished job, as announced. */
export interface JobFinished {
  readonly type: 'finished';
  readonly jobId: string;
  readonly state: Extract<ManagedJobState, 'completed' | 'failed' | 'cancelled'>;
  /** Present when it fitted in the message. */
  readonly returnValue?: unknown;
  readonly hasReturnValue?: boolean;
  readonly error?: SerializedError;
}

/** A job deleted before it finished (`remove`): its waiters stop waiting. */
export interface JobRemoved {
  readonly type: 'removed';
  readonly jobId: string;
}

/** What a `waitForJob` listener hears: the job finished, or it was removed. */
export type JobEnded = JobFinished | JobRemoved;

interface JobAbort {
  readonly type: 'abort';
  readonly jobId: string;
}

type JobMessage = JobFinished | JobRemoved | JobAbort;

/** Finished-job waiters and abort requests of one node. */
export class JobEvents {
  private readonly waiters = new Map<string, Set<(event: JobEnded) => void>>();
  private readonly listener = (message: unknown) => this.receive(message);

  constructor(
    private readonly pubSub: PubSubManager,
    private readonly channel: string,
    private readonly onAbort: (jobId: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  async start(): Promise<void> {
    await this.pubSub.subscribe(this.channel, this.listener);
  }

  async stop(): Promise<void> {
    await this.pubSub.unsubscribe(this.channel, this.listener);
  }

  /** Announces a finished job to every node (this one included). Never throws. */
  async finished(event: JobFinished): Promise<void> {
    try {
      await this.pubSub.publish(this.channel, event, { skipSelf: false });
    } catch {
      // Too large a return value (or a serialization problem): waiters read it from the record.
      const { returnValue: _dropped, ...rest } = event;
      await this.pubSub
        .publish(this.channel, { ...rest, hasReturnValue: false }, { skipSelf: false })
        .catch(this.onError);
    }
  }

  /** Announces that job `jobId` was removed before it finished. Never throws. */
  async removed(jobId: string): Promise<void> {
    await this.pubSub
      .publish(this.channel, { type: 'removed', jobId } satisfies JobRemoved, { skipSelf: false })
      .catch(this.onError);
  }

  /** Asks every node to abort job `jobId` if it runs it. */
  async abort(jobId: string): Promise<void> {
    await this.pubSub.publish(this.channel, { type: 'abort', jobId } satisfies JobAbort, { skipSelf: false });
  }

  /**
   * Calls `listener` when `jobId` is announced finished (or removed). Returns the function that removes it.
   * Register before reading the record, so no announcement falls between the read and the wait.
   */
  onFinished(jobId: string, listener: (event: JobEnded) => void): () => void {
    let set = this.waiters.get(jobId);
    if (!set) {
      set = new Set();
      this.waiters.set(jobId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.waiters.get(jobId) === set) this.waiters.delete(jobId);
    };
  }

  private receive(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const m = message as JobMessage;
    if (typeof m.jobId !== 'string') return;
    if (m.type === 'abort') {
      this.onAbort(m.jobId);
      return;
    }
    if (m.type !== 'finished' && m.type !== 'removed') return;
    const set = this.waiters.get(m.jobId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(m);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
