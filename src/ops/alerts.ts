/**
 * Alert hooks: `onBacklog(threshold, cb)` fires when a logical queue's backlog passes a threshold,
 * `onFailureRate(ratio, cb)` when the share of failed handler attempts passes a ratio. Both are
 * edge-triggered per queue: they fire once when the condition starts and re-arm when it clears, so
 * a stuck queue pages once, not on every check.
 */
import {
  assertDuration,
  assertFunction,
  assertInteger,
  assertOptions,
  ClusterError,
  ErrorCodes,
} from 'clusterkit/adapter-kit';
import type { OpsApp, OpsJobInfo } from './types.js';

/** Options of {@link createAlerts}. */
export interface AlertsOptions {
  /** How often backlogs are read (cluster-wide, from `getQueueStats()`), in ms. @default 15000 */
  checkIntervalMs?: number;
  /** Sliding window of the failure rate, in ms. @default 60000 */
  failureWindowMs?: number;
  /** Attempts a queue needs in the window before its failure rate counts. @default 10 */
  minSamples?: number;
  /** Where a throwing alert callback is reported. @default console.error */
  onError?: (error: unknown) => void;
}

/** Which queues a hook watches; omitted fields match every queue. */
export interface AlertFilter {
  pluginName?: string;
  queueName?: string;
}

/** Passed to an `onBacklog` callback. */
export interface BacklogAlert {
  type: 'backlog';
  pluginName: string;
  queueName: string;
  tenantId?: string;
  /** Waiting jobs (plus delayed ones with `includeDelayed`). */
  backlog: number;
  threshold: number;
  at: number;
}

/** Passed to an `onFailureRate` callback. */
export interface FailureRateAlert {
  type: 'failureRate';
  pluginName: string;
  queueName: string;
  failed: number;
  completed: number;
  /** failed / (failed + completed) over the window. */
  ratio: number;
  threshold: number;
  windowMs: number;
  at: number;
}

/** The alert hook API of one app. */
export interface Alerts {
  /**
   * Calls `cb` when a logical queue's backlog goes above `threshold` jobs (checked every
   * `checkIntervalMs`, and on {@link check}). Returns a function that removes the hook.
   */
  onBacklog(
    threshold: number,
    cb: (alert: BacklogAlert) => unknown,
    options?: AlertFilter & { includeDelayed?: boolean },
  ): () => void;
  /**
   * Calls `cb` when the share of failed attempts of a queue, over the last `failureWindowMs` and
   * at least `minSamples` attempts, goes above `ratio` (0 < ratio < 1). Evaluated on every job
   * outcome this node sees, so run it on worker nodes. Returns a function that removes the hook.
   */
  onFailureRate(ratio: number, cb: (alert: FailureRateAlert) => unknown, options?: AlertFilter): () => void;
  /** Reads backlogs now (tests, or right after a deploy). */
  check(): Promise<void>;
  /** Stops the timer and the job-event listeners. */
  close(): void;
}

interface Hook<A> {
  threshold: number;
  cb: (alert: A) => unknown;
  filter: AlertFilter & { includeDelayed?: boolean };
  /** Queues currently over the threshold (already alerted). */
  firing: Set<string>;
}

/** Creates the alert hooks of `app`. */
export function createAlerts(app: OpsApp, options: AlertsOptions = {}): Alerts {
  assertOptions('createAlerts', options, ['checkIntervalMs', 'failureWindowMs', 'minSamples', 'onError']);
  const checkIntervalMs = assertDuration('checkIntervalMs', options.checkIntervalMs ?? 15_000);
  const windowMs = assertDuration('failureWindowMs', options.failureWindowMs ?? 60_000);
  const minSamples = assertInteger('minSamples', options.minSamples ?? 10, 1);
  const onError = options.onError ?? ((error: unknown) => console.error('[clusterkit] alert callback failed', error));
  const backlogHooks = new Set<Hook<BacklogAlert>>();
  const rateHooks = new Set<Hook<FailureRateAlert>>();
  /** Per queue: outcome timestamps in the window (true = failed). */
  const outcomes = new Map<string, { at: number; failed: boolean }[]>();
  let timer: NodeJS.Timeout | undefined;

  const matches = (f: AlertFilter, pluginName: string, queueName: string) =>
    (f.pluginName === undefined || f.pluginName === pluginName) &&
    (f.queueName === undefined || f.queueName === queueName);

  const fire = <A>(hook: Hook<A>, alert: A) => {
    try {
      const result = hook.cb(alert);
      if (result && typeof (result as Promise<unknown>).then === 'function')
        (result as Promise<unknown>).catch(onError);
    } catch (error) {
      onError(error);
    }
  };

  const check = async () => {
    if (backlogHooks.size === 0) return;
    const stats = await app.managedQueue.getQueueStats();
    const at = Date.now();
    for (const hook of backlogHooks) {
      const over = new Set<string>();
      for (const row of stats) {
        if (!matches(hook.filter, row.pluginName, row.queueName)) continue;
        const backlog = row.waiting + (hook.filter.includeDelayed ? row.delayed : 0);
        const key = JSON.stringify([row.pluginName, row.queueName, row.tenantId ?? null]);
        if (backlog <= hook.threshold) continue;
        over.add(key);
        if (hook.firing.has(key)) continue;
        fire(hook, {
          type: 'backlog',
          pluginName: row.pluginName,
          queueName: row.queueName,
          ...(row.tenantId !== undefined ? { tenantId: row.tenantId } : {}),
          backlog,
          threshold: hook.threshold,
          at,
        });
      }
      hook.firing = over;
    }
  };

  const record = (info: OpsJobInfo, failed: boolean) => {
    if (rateHooks.size === 0) return;
    const key = JSON.stringify([info.pluginName, info.queueName]);
    const now = Date.now();
    const list = (outcomes.get(key) ?? []).filter((o) => now - o.at <= windowMs);
    list.push({ at: now, failed });
    outcomes.set(key, list);
    const failedCount = list.filter((o) => o.failed).length;
    const ratio = failedCount / list.length;
    for (const hook of rateHooks) {
      if (!matches(hook.filter, info.pluginName, info.queueName)) continue;
      if (list.length < minSamples || ratio <= hook.threshold) {
        if (list.length >= minSamples) hook.firing.delete(key);
        continue;
      }
      if (hook.firing.has(key)) continue;
      hook.firing.add(key);
      fire(hook, {
        type: 'failureRate',
        pluginName: info.pluginName,
        queueName: info.queueName,
        failed: failedCount,
        completed: list.length - failedCount,
        ratio,
        threshold: hook.threshold,
        windowMs,
        at: now,
      });
    }
  };
  const onCompleted = (info: OpsJobInfo) => record(info, false);
  const onFailed = (info: OpsJobInfo) => record(info, true);
  app.managedQueue.on('job:completed', onCompleted);
  app.managedQueue.on('job:failed', onFailed);

  const ensureTimer = () => {
    if (timer || backlogHooks.size === 0) return;
    timer = setInterval(() => {
      check().catch(onError);
    }, checkIntervalMs);
    // An alert timer alone must never keep a process alive.
    timer.unref();
  };

  return {
    onBacklog(threshold, cb, filter = {}) {
      assertInteger('backlog threshold', threshold, 0);
      assertFunction('onBacklog callback', cb);
      assertOptions('onBacklog', filter, ['pluginName', 'queueName', 'includeDelayed']);
      const hook: Hook<BacklogAlert> = { threshold, cb, filter, firing: new Set() };
      backlogHooks.add(hook);
      ensureTimer();
      return () => backlogHooks.delete(hook);
    },
    onFailureRate(ratio, cb, filter = {}) {
      if (typeof ratio !== 'number' || !(ratio > 0 && ratio < 1)) {
        throw new ClusterError(
          ErrorCodes.INVALID_OPTION,
          `failure ratio must be a number between 0 and 1 (exclusive), got ${String(ratio)}`,
        );
      }
      assertFunction('onFailureRate callback', cb);
      assertOptions('onFailureRate', filter, ['pluginName', 'queueName']);
      const hook: Hook<FailureRateAlert> = { threshold: ratio, cb, filter, firing: new Set() };
      rateHooks.add(hook);
      return () => rateHooks.delete(hook);
    },
    check,
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      backlogHooks.clear();
      rateHooks.clear();
      app.managedQueue.off('job:completed', onCompleted);
      app.managedQueue.off('job:failed', onFailed);
    },
  };
}
