/**
 * `createJobStatsRecorder(app)`: the small, bounded history the dashboard draws its pictures from.
 * On the node it runs on, it listens to the managed queue's job events and keeps, per minute and
 * logical queue (plugin/queue), how many jobs completed, failed and were retried, and histograms of
 * wait time (from when an attempt was due to its start) and run time (of each attempt). Every
 * `flushIntervalMs` it writes its current minutes to the app's store, one key per node and minute,
 * which only this node writes (a plain overwrite: no read-modify-write race between nodes), with a
 * TTL of the retention. Readers (job-stats-report.ts) merge the nodes' minutes.
 *
 * Bounds: keys = nodes × (retention / 1 min + 2); each key holds at most `maxQueues` queues (more
 * are counted under `*` / `*`) with 3 counters and two sparse histograms of ≤ 110 bins.
 */
import { randomUUID } from 'node:crypto';
import {
  assertDuration,
  assertInteger,
  assertOptions,
  ClusterError,
  ErrorCodes,
  escapeKeyPart,
  isClusterError,
  processGlobal,
} from 'clusterkit/adapter-kit';
import type { OpsApp, OpsJobInfo } from './types.js';

/** Options of {@link createJobStatsRecorder}. */
export interface JobStatsOptions {
  /** How often this node writes its counts to the store, in ms. @default 5000 */
  flushIntervalMs?: number;
  /** How long per-minute counts are kept, in ms. @default 3_600_000 (1 h) */
  retentionMs?: number;
  /** Most logical queues recorded per node and minute; the rest are counted as `*` / `*`. @default 200 */
  maxQueues?: number;
  /** Where a failed write goes (the recorder never throws into job events). @default console.error */
  onError?: (error: unknown) => void;
}

/** A running recorder. Several `createJobStatsRecorder(app)` calls share one per app; each `close()` releases one. */
export interface JobStatsRecorder {
  /** Writes the current counts now. */
  flush(): Promise<void>;
  /** Stops listening (when the last user closes) and writes what is left. */
  close(): Promise<void>;
}

/** One logical queue's minute on one node: counters and sparse histograms (bin → count). */
export interface QueueMinute {
  completed: number;
  failed: number;
  retried: number;
  wait: Record<string, number>;
  run: Record<string, number>;
}

/** What one node stores for one minute. */
export interface StoredMinute {
  v: 1;
  /** Epoch ms of the minute's start. */
  minute: number;
  node: string;
  /** Key: JSON `[pluginName, queueName]`. */
  queues: Record<string, QueueMinute>;
}

/** Length of a bucket, in ms. */
export const STATS_MINUTE_MS = 60_000;

/** Histogram bins per doubling: a value is known within a factor 2^(1/4) (≈ ±9 % around the bin's middle). */
const BINS_PER_DOUBLING = 4;

/** The histogram bin of a duration: 0 below 1 ms, then 4 bins per doubling. */
export function binOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  return 1 + Math.floor(Math.log2(ms) * BINS_PER_DOUBLING);
}

/** A representative duration of a bin (its geometric middle), in ms. */
export function binValue(bin: number): number {
  if (bin <= 0) return 0;
  return 2 ** ((bin - 0.5) / BINS_PER_DOUBLING);
}

/** Key prefix of an app's stored minutes: `<app>:ops:stats:`. */
export function statsPrefix(appName: string): string {
  return `${escapeKeyPart(appName)}:ops:stats:`;
}

const OPTION_KEYS = ['flushIntervalMs', 'retentionMs', 'maxQueues', 'onError'];
// Per-process (not per module copy): the ESM and CJS builds join the same node's recorder.
const shared = processGlobal(
  'jobStatsRecorders.v1',
  () => new WeakMap<OpsApp, { recorder: JobStatsRecorder; users: number }>(),
);

/** Starts recording job statistics of the node `app` runs on (or joins the recorder already running). */
export function createJobStatsRecorder(app: OpsApp, options: JobStatsOptions = {}): JobStatsRecorder {
  assertOptions('createJobStatsRecorder', options, OPTION_KEYS);
  const existing = shared.get(app);
  if (existing) {
    existing.users += 1;
    return handle(app, existing);
  }
  const entry = { recorder: startRecorder(app, options), users: 1 };
  shared.set(app, entry);
  return handle(app, entry);
}

function handle(app: OpsApp, entry: { recorder: JobStatsRecorder; users: number }): JobStatsRecorder {
  let closed = false;
  return {
    flush: () => entry.recorder.flush(),
    close: async () => {
      if (closed) return;
      closed = true;
      entry.users -= 1;
      if (entry.users > 0) return entry.recorder.flush();
      shared.delete(app);
      return entry.recorder.close();
    },
  };
}

function startRecorder(app: OpsApp, options: JobStatsOptions): JobStatsRecorder {
  const flushIntervalMs = assertDuration('flushIntervalMs', options.flushIntervalMs ?? 5_000);
  const retentionMs = assertDuration('retentionMs', options.retentionMs ?? 3_600_000);
  const maxQueues = assertInteger('maxQueues', options.maxQueues ?? 200, 1, 10_000);
  const onError = options.onError ?? ((error: unknown) => console.error('clusterkit job stats:', error));
  if (typeof onError !== 'function') {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, 'createJobStatsRecorder: onError must be a function');
  }
  const node = app.nodeId ?? `${app.name}#${randomUUID()}`;
  const prefix = statsPrefix(app.name);
  const minutes = new Map<number, Map<string, QueueMinute>>();
  const dirty = new Set<number>();

  const slot = (info: OpsJobInfo, at: number): QueueMinute => {
    const minute = Math.floor(at / STATS_MINUTE_MS) * STATS_MINUTE_MS;
    let queues = minutes.get(minute);
    if (!queues) minutes.set(minute, (queues = new Map()));
    dirty.add(minute);
    let key = JSON.stringify([info.pluginName, info.queueName]);
    if (!queues.has(key) && queues.size >= maxQueues) key = JSON.stringify(['*', '*']);
    let q = queues.get(key);
    if (!q) queues.set(key, (q = { completed: 0, failed: 0, retried: 0, wait: {}, run: {} }));
    return q;
  };
  const add = (histogram: Record<string, number>, ms: number) => {
    const bin = String(binOf(Math.max(0, ms)));
    histogram[bin] = (histogram[bin] ?? 0) + 1;
  };

  const onActive = (info: OpsJobInfo & { timestamps: { runAt?: number } }) => {
    const started = info.timestamps.startedAt ?? Date.now();
    const due = Math.max(
      info.timestamps.runAt ?? info.timestamps.enqueuedAt ?? started,
      info.timestamps.enqueuedAt ?? 0,
    );
    add(slot(info, started).wait, started - due);
  };
  const onCompleted = (info: OpsJobInfo, meta?: { durationMs?: number }) => {
    const q = slot(info, Date.now());
    q.completed += 1;
    if (typeof meta?.durationMs === 'number') add(q.run, meta.durationMs);
  };
  const onFailed = (
    info: OpsJobInfo & { failedCode?: string },
    _error: unknown,
    meta?: { willRetry?: boolean; durationMs?: number },
  ) => {
    const q = slot(info, Date.now());
    if (meta?.willRetry) q.retried += 1;
    else q.failed += 1;
    // An attempt failed for want of a processor never ran: it has no run time.
    if (typeof meta?.durationMs === 'number' && info.failedCode !== ErrorCodes.NO_PROCESSOR)
      add(q.run, meta.durationMs);
  };
  const listeners: [string, (...args: any[]) => void][] = [
    ['job:active', onActive],
    ['job:completed', onCompleted],
    ['job:failed', onFailed],
  ];
  for (const [event, listener] of listeners) app.managedQueue.on(event, listener);

  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      const store = app.cacheManager?.store;
      const now = Date.now();
      const current = Math.floor(now / STATS_MINUTE_MS) * STATS_MINUTE_MS;
      const batch = [...dirty];
      dirty.clear();
      if (store) {
        for (const minute of batch) {
          const queues = minutes.get(minute);
          if (!queues) continue;
          const value: StoredMinute = { v: 1, minute, node, queues: Object.fromEntries(queues) };
          const ttlMs = minute + retentionMs + 2 * STATS_MINUTE_MS - now;
          if (ttlMs <= 0) continue;
          try {
            await store.set(`${prefix}${minute}:${escapeKeyPart(node)}`, JSON.stringify(value), { ttlMs });
          } catch (error) {
            dirty.add(minute);
            // Before app.start() or after app.stop() the store is closed: keep the counts, say nothing.
            if (!(isClusterError(error) && error.code === ErrorCodes.NOT_CONNECTED)) onError(error);
          }
        }
      }
      // Keep the current and the previous minute in memory (late events still land there); drop older ones once written.
      for (const minute of minutes.keys())
        if (minute < current - STATS_MINUTE_MS && !dirty.has(minute)) minutes.delete(minute);
    });
    return writing;
  };
  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref?.();

  return {
    flush,
    async close() {
      clearInterval(timer);
      for (const [event, listener] of listeners) app.managedQueue.off(event, listener);
      // Bounded: a store that is gone must not hold up a stop path.
      await Promise.race([flush(), new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref?.())]);
    },
  };
}
