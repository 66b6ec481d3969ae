/**
 * `readJobStats(app)`: merges the per-node, per-minute job statistics that
 * {@link createJobStatsRecorder} wrote into one report over the last minutes: throughput per minute
 * (completed, failed, retried) for all queues and each logical queue, and wait/run-time percentiles
 * per logical queue, over the whole window and per minute. Percentiles come from log-scale
 * histograms (4 bins per doubling), so each is within about ±9 % of the exact value.
 */
import { ClusterError, ErrorCodes } from 'clusterkit/adapter-kit';
import { binValue, STATS_MINUTE_MS, statsPrefix, type QueueMinute, type StoredMinute } from './job-stats.js';
import type { OpsApp } from './types.js';

/** Percentiles of a set of durations, in ms (null when the set is empty). */
export interface DurationPercentiles {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** One logical queue over the window. */
export interface QueueStatsSeries {
  pluginName: string;
  queueName: string;
  completed: number;
  failed: number;
  retried: number;
  /** From when an attempt was due to its start. */
  wait: DurationPercentiles | null;
  /** Of each attempt that ran. */
  run: DurationPercentiles | null;
  /** Per minute, aligned with {@link JobStatsReport.minutes}. */
  series: {
    completed: number[];
    failed: number[];
    retried: number[];
    waitP95: (number | null)[];
    runP50: (number | null)[];
    runP95: (number | null)[];
  };
}

/** What {@link readJobStats} returns. */
export interface JobStatsReport {
  /** False when the app has no store to read from (nothing is recorded then). */
  available: boolean;
  /** Epoch ms of each minute's start, oldest first (the last one is the current, partial minute). */
  minutes: number[];
  /** All queues, per minute. */
  totals: { completed: number[]; failed: number[]; retried: number[] };
  queues: QueueStatsSeries[];
  /** Nodes that wrote statistics in the window. */
  nodes: string[];
}

/** Reads the last `minutes` minutes (the current one included). @default 60 */
export async function readJobStats(
  app: OpsApp,
  options: { minutes?: number; now?: number } = {},
): Promise<JobStatsReport> {
  const count = options.minutes ?? 60;
  if (!Number.isInteger(count) || count < 1 || count > 1_440) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'minutes must be an integer between 1 and 1440');
  }
  const current = Math.floor((options.now ?? Date.now()) / STATS_MINUTE_MS) * STATS_MINUTE_MS;
  const minutes = Array.from({ length: count }, (_, i) => current - (count - 1 - i) * STATS_MINUTE_MS);
  const zeros = () => minutes.map(() => 0);
  const report: JobStatsReport = {
    available: app.cacheManager?.store !== undefined,
    minutes,
    totals: { completed: zeros(), failed: zeros(), retried: zeros() },
    queues: [],
    nodes: [],
  };
  const store = app.cacheManager?.store;
  if (!store) return report;

  const prefix = statsPrefix(app.name);
  const keys: string[] = [];
  for await (const key of store.scan(prefix)) {
    const minute = Number(key.slice(prefix.length).split(':')[0]);
    if (minute >= minutes[0]! && minute <= current) keys.push(key);
  }
  /** Per queue: per-minute merged buckets. */
  const merged = new Map<string, (QueueMinute | undefined)[]>();
  const nodes = new Set<string>();
  for (let i = 0; i < keys.length; i += 200) {
    for (const text of await store.mget(keys.slice(i, i + 200))) {
      const stored = parse(text);
      if (!stored) continue;
      const index = (stored.minute - minutes[0]!) / STATS_MINUTE_MS;
      if (!Number.isInteger(index) || index < 0 || index >= count) continue;
      nodes.add(stored.node);
      for (const [queue, q] of Object.entries(stored.queues)) {
        let row = merged.get(queue);
        if (!row) merged.set(queue, (row = minutes.map(() => undefined)));
        row[index] = mergeMinute(row[index], q);
      }
    }
  }
  report.nodes = [...nodes].sort();
  for (const [queue, row] of merged) {
    const [pluginName, queueName] = JSON.parse(queue) as [string, string];
    const pick = (key: 'completed' | 'failed' | 'retried') => row.map((m) => m?.[key] ?? 0);
    const series = {
      completed: pick('completed'),
      failed: pick('failed'),
      retried: pick('retried'),
      waitP95: row.map((m) => (m ? (percentiles(m.wait)?.p95 ?? null) : null)),
      runP50: row.map((m) => (m ? (percentiles(m.run)?.p50 ?? null) : null)),
      runP95: row.map((m) => (m ? (percentiles(m.run)?.p95 ?? null) : null)),
    };
    const all = row.reduce<QueueMinute>((acc, m) => (m ? mergeMinute(acc, m) : acc), emptyMinute());
    report.queues.push({
      pluginName,
      queueName,
      completed: all.completed,
      failed: all.failed,
      retried: all.retried,
      wait: percentiles(all.wait),
      run: percentiles(all.run),
      series,
    });
    series.completed.forEach((n, i) => (report.totals.completed[i]! += n));
    series.failed.forEach((n, i) => (report.totals.failed[i]! += n));
    series.retried.forEach((n, i) => (report.totals.retried[i]! += n));
  }
  report.queues.sort((a, b) =>
    `${a.pluginName}\u0000${a.queueName}`.localeCompare(`${b.pluginName}\u0000${b.queueName}`),
  );
  return report;
}

/** Percentiles of a histogram (bin → count), or null when it is empty. */
export function percentiles(histogram: Record<string, number>): DurationPercentiles | null {
  const bins = Object.entries(histogram)
    .map(([bin, n]) => [Number(bin), n] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = bins.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  const at = (q: number) => {
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (const [bin, n] of bins) {
      seen += n;
      if (seen >= rank) return round(binValue(bin));
    }
    return round(binValue(bins[bins.length - 1]![0]));
  };
  return { count: total, p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: at(1) };
}

function round(ms: number): number {
  return ms < 10 ? Math.round(ms * 10) / 10 : Math.round(ms);
}

function emptyMinute(): QueueMinute {
  return { completed: 0, failed: 0, retried: 0, wait: {}, run: {} };
}

function mergeMinute(into: QueueMinute | undefined, from: QueueMinute): QueueMinute {
  const out = into ?? emptyMinute();
  out.completed += from.completed;
  out.failed += from.failed;
  out.retried += from.retried;
  for (const [bin, n] of Object.entries(from.wait)) out.wait[bin] = (out.wait[bin] ?? 0) + n;
  for (const [bin, n] of Object.entries(from.run)) out.run[bin] = (out.run[bin] ?? 0) + n;
  return out;
}

function parse(text: string | undefined): StoredMinute | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as StoredMinute;
    return value?.v === 1 && typeof value.minute === 'number' && value.queues ? value : undefined;
  } catch {
    return undefined; // a corrupt entry costs one minute of one node, never the report
  }
}
