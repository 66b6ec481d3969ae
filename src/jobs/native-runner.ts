/**
 * Core's half of a native engine's attempt (native-engine.ts): the handler runs exactly as the
 * record + ticket layer runs it (job-runner.ts) — inside the job's tenant context (or outside any),
 * in its trace span, with the same `job` object (`signal` made lazily, `progress`, `log`) and
 * context — and its failure is classified for the engine: retryable, unrecoverable, cancelled
 * (`cancel({ abortActive })`), or abandoned (lost lock, node stopping). The engine records the outcome.
 */
import { ErrorCodes, isClusterError, isUnrecoverable, serializeError } from '../errors.js';
import { serializePayload } from '../validation.js';
import { toJobInfo } from './envelope.js';
import { JobCancelledError } from './job-runner.js';
import { NativeRunFailure, type NativeActiveJob, type NativeHandler } from './native-engine.js';
import type { Registration } from './registration.js';
import { checkedProgress, handlerJob, invokeHandler, returnValueFailure } from './invoke-handler.js';
import type { ManagedQueueEvents, ManagedQueueJob } from './types.js';

/** What a native handler needs from the managed queue. */
export interface NativeRunnerDeps {
  readonly maxPayloadBytes: number;
  /** Shown as the job span's `messaging.destination.name`. */
  readonly channel: string;
  emit<K extends keyof ManagedQueueEvents>(event: K, ...args: ManagedQueueEvents[K]): void;
  listens(event: keyof ManagedQueueEvents): boolean;
}

/** The {@link NativeHandler} of one registration. */
export function nativeHandlerOf(registration: Registration, deps: NativeRunnerDeps): NativeHandler {
  return {
    options: registration.options,
    concurrency: registration.concurrency,
    run: (job) => runAttempt(registration, job, deps),
    settled(outcome, record) {
      if (outcome.error === undefined) {
        if (deps.listens('job:completed'))
          deps.emit('job:completed', toJobInfo(record()), { durationMs: outcome.durationMs });
      } else if (deps.listens('job:failed')) {
        deps.emit('job:failed', toJobInfo(record()), outcome.error, {
          willRetry: outcome.willRetry,
          durationMs: outcome.durationMs,
        });
      }
    },
  };
}

async function runAttempt(
  registration: Registration,
  active: NativeActiveJob,
  deps: NativeRunnerDeps,
): Promise<unknown> {
  const { record, abort } = active;
  let value: unknown;
  try {
    if (deps.listens('job:active')) deps.emit('job:active', toJobInfo(record));
    value = await call(registration, active, deps);
  } catch (error) {
    throw classify(error, active);
  }
  if (value === undefined) return undefined;
  try {
    return JSON.parse(serializePayload('return value', value, deps.maxPayloadBytes));
  } catch (error) {
    if (!isClusterError(error) || error.code !== ErrorCodes.INVALID_PAYLOAD) throw error;
    throw new NativeRunFailure(returnValueFailure(error), false, false, abort.aborted && !isCancel(abort.reason));
  }
}

function isCancel(reason: unknown): boolean {
  return reason instanceof JobCancelledError;
}

/** The engine's view of a failed attempt (see {@link NativeRunFailure}). */
function classify(failure: unknown, active: NativeActiveJob): NativeRunFailure {
  const error = failure instanceof Error ? failure : new Error(serializeError(failure).message);
  const { abort } = active;
  const cancelled = abort.aborted && isCancel(abort.reason);
  const abandoned = abort.aborted && !cancelled;
  return new NativeRunFailure(error, !cancelled && !abandoned && !isUnrecoverable(failure), cancelled, abandoned);
}

function call(registration: Registration, active: NativeActiveJob, deps: NativeRunnerDeps): Promise<unknown> {
  const { record, abort } = active;
  const log = (line: string) => active.log(line);
  const progress: ManagedQueueJob['progress'] = async (value) => {
    const progress = checkedProgress(value);
    await active.progress(progress);
    record.progress = progress;
    deps.emit('job:progress', toJobInfo(record), progress);
  };
  const job = handlerJob(record, abort, progress, log);
  return invokeHandler(registration, record, job, log, deps.channel);
}
