/**
 * Prometheus metrics for one app, on a registry of its own (never prom-client's global one, so two
 * apps in one process never clash). Queue gauges are read from the managed queue at scrape time and
 * are cluster-wide; durations, failures and retries count what this node processed; lock waits and
 * pub/sub messages come from the managers' `node:diagnostics_channel` events.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { assertOptions, LOCK_ACQUIRED_CHANNEL, PUBSUB_MESSAGE_CHANNEL } from 'clusterkit/adapter-kit';
import { JOB_STATES, physicalChannel, type OpsApp, type OpsJobInfo } from './types.js';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * Prefix of every clusterkit metric name. Node process metrics keep prom-client's standard names
   * (`process_*`, `nodejs_*`) so stock Node.js dashboards work. @default 'clusterkit_'
   */
  prefix?: string;
  /** Also collect Node process metrics (CPU, memory, event loop lag, GC). @default true */
  defaultMetrics?: boolean;
  /** Event-queue channels whose record counts (incl. dead letters) are exported. @default the managed queue's physical channel */
  channels?: readonly string[];
  /** Histogram buckets of job processing time, in seconds. @default [0.005 … 60] */
  durationBuckets?: number[];
  /** Histogram buckets of lock wait time, in seconds. @default [0.001 … 10] */
  lockWaitBuckets?: number[];
  /** Labels added to every metric (e.g. `{ node: 'pod-1' }`). */
  labels?: Record<string, string>;
}

/** An app's metrics: serve `metrics()` with `contentType`, `close()` when the app stops. */
export interface OpsMetrics {
  /** The registry every metric lives in; register your own metrics here too. */
  readonly registry: Registry;
  /** `Content-Type` of the exposition. */
  readonly contentType: string;
  /** The Prometheus text exposition (reads queue gauges first). */
  metrics(): Promise<string>;
  /** Stops listening to job events and diagnostics channels. */
  close(): void;
}

const OPTION_KEYS = ['prefix', 'defaultMetrics', 'channels', 'durationBuckets', 'lockWaitBuckets', 'labels'];

/** Creates the metrics of `app` on a new registry. See docs/operations.md for the list. */
export function createMetrics(app: OpsApp, options: MetricsOptions = {}): OpsMetrics {
  assertOptions('createMetrics', options, OPTION_KEYS);
  const p = options.prefix ?? 'clusterkit_';
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  // Unprefixed on purpose: `process_cpu_seconds_total` is what every Node.js dashboard queries.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const channels = () => {
    if (options.channels) return [...options.channels];
    const channel = physicalChannel(app);
    return channel ? [channel] : [];
  };

  const up = new Gauge({
    name: `${p}backend_up`,
    help: '1 when the last scrape could read the queues, else 0',
    registers,
  });
  const jobs = new Gauge({
    name: `${p}jobs`,
    help: 'Managed jobs by state per plugin/queue (cluster-wide, summed over tenants)',
    labelNames: ['plugin', 'queue', 'state'] as const,
    registers,
  });
  const paused = new Gauge({
    name: `${p}queue_paused`,
    help: '1 when the logical queue is paused',
    labelNames: ['plugin', 'queue'] as const,
    registers,
  });
  const records = new Gauge({
    name: `${p}event_queue_records`,
    help: 'Records of a physical event-queue channel by state (dead = dead letters)',
    labelNames: ['channel', 'state'] as const,
    registers,
  });
  const jobLabels = ['plugin', 'queue', 'job'] as const;
  const duration = new Histogram({
    name: `${p}job_duration_seconds`,
    help: 'Time a handler attempt took on this node, by outcome',
    labelNames: [...jobLabels, 'status'] as const,
    buckets: options.durationBuckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const completed = new Counter({
    name: `${p}jobs_completed_total`,
    help: 'Jobs completed on this node',
    labelNames: jobLabels,
    registers,
  });
  const failures = new Counter({
    name: `${p}job_failures_total`,
    help: 'Failed handler attempts on this node (retried or final)',
    labelNames: [...jobLabels, 'final'] as const,
    registers,
  });
  const retries = new Counter({
    name: `${p}job_retries_total`,
    help: 'Failed attempts that were scheduled for another attempt on this node',
    labelNames: jobLabels,
    registers,
  });
  const lockWait = new Histogram({
    name: `${p}lock_wait_seconds`,
    help: 'Time between asking for a lock and getting it, on this node',
    buckets: options.lockWaitBuckets ?? [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const pubsub = new Counter({
    name: `${p}pubsub_messages_total`,
    help: 'Pub/sub messages sent (out) and received (in) on this node',
    labelNames: ['channel', 'direction'] as const,
    registers,
  });

  const labelsOf = (info: OpsJobInfo) => ({ plugin: info.pluginName, queue: info.queueName, job: info.jobName });
  const onCompleted = (info: OpsJobInfo, meta?: { durationMs?: number }) => {
    completed.inc(labelsOf(info));
    if (typeof meta?.durationMs === 'number')
      duration.observe({ ...labelsOf(info), status: 'completed' }, meta.durationMs / 1000);
  };
  const onFailed = (info: OpsJobInfo, _error: unknown, meta?: { willRetry?: boolean; durationMs?: number }) => {
    const willRetry = meta?.willRetry === true;
    failures.inc({ ...labelsOf(info), final: willRetry ? 'false' : 'true' });
    if (willRetry) retries.inc(labelsOf(info));
    if (typeof meta?.durationMs === 'number')
      duration.observe({ ...labelsOf(info), status: 'failed' }, meta.durationMs / 1000);
  };
  const onLock = (message: unknown) => {
    const m = message as { app?: string; waitMs?: number };
    if (m?.app === app.name && typeof m.waitMs === 'number') lockWait.observe(m.waitMs / 1000);
  };
  const onPubSub = (message: unknown) => {
    const m = message as { app?: string; channel?: string; direction?: string };
    if (m?.app === app.name && typeof m.channel === 'string') {
      pubsub.inc({ channel: m.channel, direction: m.direction === 'in' ? 'in' : 'out' });
    }
  };
  app.managedQueue.on('job:completed', onCompleted);
  app.managedQueue.on('job:failed', onFailed);
  subscribe(LOCK_ACQUIRED_CHANNEL, onLock);
  subscribe(PUBSUB_MESSAGE_CHANNEL, onPubSub);

  // Gauges are refreshed right before each scrape, so they always show the cluster as it is now.
  const refresh = async () => {
    try {
      const [stats, counts] = await Promise.all([
        app.managedQueue.getQueueStats(),
        Promise.all(channels().map(async (c) => [c, await app.eventQueue.counts(c)] as const)),
      ]);
      jobs.reset();
      paused.reset();
      records.reset();
      for (const row of stats) {
        for (const state of JOB_STATES) jobs.inc({ plugin: row.pluginName, queue: row.queueName, state }, row[state]);
        paused.set({ plugin: row.pluginName, queue: row.queueName }, row.paused ? 1 : 0);
      }
      for (const [channel, c] of counts) {
        for (const state of ['waiting', 'delayed', 'active', 'dead'] as const)
          records.set({ channel, state }, c[state]);
      }
      up.set(1);
    } catch {
      // A broker outage must not break the scrape: the rest still reports, and backend_up says why gauges are stale.
      up.set(0);
    }
  };

  return {
    registry,
    contentType: registry.contentType,
    async metrics() {
      await refresh();
      return registry.metrics();
    },
    close() {
      app.managedQueue.off('job:completed', onCompleted);
      app.managedQueue.off('job:failed', onFailed);
      unsubscribe(LOCK_ACQUIRED_CHANNEL, onLock);
      unsubscribe(PUBSUB_MESSAGE_CHANNEL, onPubSub);
    },
  };
}
