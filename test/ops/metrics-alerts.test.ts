/**
 * Prometheus metrics and alert hooks on a memory app: queue gauges read at scrape time, handler
 * durations/failures/retries from job events, lock waits and pub/sub messages from the managers'
 * diagnostics channels, one registry per app; backlog and failure-rate alerts fire once per episode.
 */
import { channel } from 'node:diagnostics_channel';
import { register as globalRegistry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createAlerts, createMetrics, type BacklogAlert, type FailureRateAlert } from 'clusterkit/ops';
import { deferred, randomName, within } from '../helpers.js';

let app: App;
let failNext = 0;

beforeEach(async () => {
  failNext = 0;
  app = createApp({ name: randomName('metrics'), logger: silentLogger });
  await app.managedQueue.process(
    { pluginName: 'billing', queueName: 'invoices', jobName: 'render', concurrency: 2 },
    async (job) => {
      if (job.data.fail || failNext-- > 0) throw new Error('renderer crashed');
      return 'ok';
    },
  );
  await app.start();
});

afterEach(async () => {
  await app.stop();
});

const enqueue = (payload: object = {}, extra: Record<string, unknown> = {}) =>
  app.managedQueue.enqueue({
    pluginName: 'billing',
    queueName: 'invoices',
    jobName: 'render',
    tenantId: 't1',
    payload,
    ...extra,
  });
const settled = (jobId: string, state: 'completed' | 'failed') =>
  vi.waitFor(async () => expect((await app.managedQueue.getJob(jobId))?.state).toBe(state), {
    timeout: 10_000,
    interval: 10,
  });
const line = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(name));

describe('createMetrics', () => {
  it('exports job gauges, durations, failures and retries', async () => {
    const metrics = createMetrics(app, { defaultMetrics: false });
    try {
      const ok = await enqueue();
      await settled(ok.jobId, 'completed');
      failNext = 1; // first attempt fails, the retry succeeds
      const retried = await enqueue({}, { attempts: 2, backoffMs: 1 });
      await settled(retried.jobId, 'completed');
      const bad = await enqueue({ fail: true });
      await settled(bad.jobId, 'failed');
      await app.managedQueue.pause({ pluginName: 'billing', queueName: 'invoices' });

      const text = await metrics.metrics();
      expect(metrics.contentType).toContain('text/plain');
      expect(text).toContain('clusterkit_jobs{plugin="billing",queue="invoices",state="completed"} 2');
      expect(text).toContain('clusterkit_jobs{plugin="billing",queue="invoices",state="failed"} 1');
      expect(text).toContain('clusterkit_jobs{plugin="billing",queue="invoices",state="waiting"} 0');
      expect(text).toContain('clusterkit_queue_paused{plugin="billing",queue="invoices"} 1');
      expect(text).toContain('clusterkit_jobs_completed_total{plugin="billing",queue="invoices",job="render"} 2');
      expect(text).toContain(
        'clusterkit_job_failures_total{plugin="billing",queue="invoices",job="render",final="false"} 1',
      );
      expect(text).toContain(
        'clusterkit_job_failures_total{plugin="billing",queue="invoices",job="render",final="true"} 1',
      );
      expect(text).toContain('clusterkit_job_retries_total{plugin="billing",queue="invoices",job="render"} 1');
      expect(text).toContain(
        'clusterkit_job_duration_seconds_count{plugin="billing",queue="invoices",job="render",status="completed"} 2',
      );
      expect(text).toContain(
        'clusterkit_job_duration_seconds_count{plugin="billing",queue="invoices",job="render",status="failed"} 2',
      );
      expect(text).toMatch(/clusterkit_event_queue_records\{channel="managed-queue:plugin-jobs",state="dead"\} 0/);
      expect(text).toContain('clusterkit_backend_up 1');
    } finally {
      metrics.close();
    }
  });

  it('records lock wait time and pub/sub messages of this app from the diagnostics channels', async () => {
    const metrics = createMetrics(app, { defaultMetrics: false });
    try {
      const held = await app.lockManager.acquire('report-lock', 5_000);
      const waiting = app.lockManager.runExclusive('report-lock', async () => 'done', 5_000);
      await held.release();
      await waiting;
      const heard = deferred();
      await app.pubSubManager.subscribe('cache:flush', () => heard.resolve());
      await app.pubSubManager.publish('cache:flush', { all: true }, { skipSelf: false });
      await within(heard.promise, 5_000, 'the pub/sub message');
      // Another app's events (same process, other name) are not counted.
      channel('clusterkit:lock:acquired').publish({ app: 'someone-else', key: 'x', waitMs: 99_000 });

      const text = await metrics.metrics();
      expect(line(text, 'clusterkit_lock_wait_seconds_count')).toBe('clusterkit_lock_wait_seconds_count 2');
      expect(Number(line(text, 'clusterkit_lock_wait_seconds_sum')!.split(' ')[1])).toBeLessThan(99);
      expect(text).toContain('clusterkit_pubsub_messages_total{channel="cache:flush",direction="out"} 1');
      expect(text).toContain('clusterkit_pubsub_messages_total{channel="cache:flush",direction="in"} 1');
    } finally {
      metrics.close();
    }
  });

  it('uses a registry per app, never the global one, and stops counting after close()', async () => {
    const other = createApp({ name: randomName('metrics'), logger: silentLogger });
    await other.start();
    const a = createMetrics(app);
    const b = createMetrics(other, { labels: { node: 'b' } });
    try {
      expect(a.registry).not.toBe(b.registry);
      expect(await b.metrics()).toContain('clusterkit_backend_up{node="b"} 1');
      expect(await a.metrics()).toContain('clusterkit_process_cpu_seconds_total');
      expect(await globalRegistry.metrics()).not.toContain('clusterkit_');
      a.close();
      const { jobId } = await enqueue();
      await settled(jobId, 'completed');
      expect(await a.metrics()).not.toContain('clusterkit_jobs_completed_total{');
    } finally {
      b.close();
      await other.stop();
    }
  });

  it('reports backend_up 0 instead of failing the scrape when the queues cannot be read', async () => {
    const metrics = createMetrics(app, { defaultMetrics: false });
    try {
      await app.stop();
      expect(await metrics.metrics()).toContain('clusterkit_backend_up 0');
    } finally {
      metrics.close();
      await app.start();
    }
  });
});

describe('createAlerts', () => {
  it('onBacklog fires once when a queue passes the threshold and again after it has cleared', async () => {
    const alerts = createAlerts(app, { checkIntervalMs: 60_000 });
    const fired: BacklogAlert[] = [];
    alerts.onBacklog(2, (alert) => void fired.push(alert), { pluginName: 'billing' });
    try {
      const queue = { pluginName: 'billing', queueName: 'invoices' };
      await app.managedQueue.pause(queue);
      const jobs = [await enqueue(), await enqueue()];
      await alerts.check();
      expect(fired).toHaveLength(0); // 2 is not above 2
      jobs.push(await enqueue());
      await alerts.check();
      await alerts.check();
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({
        type: 'backlog',
        pluginName: 'billing',
        queueName: 'invoices',
        tenantId: 't1',
        backlog: 3,
        threshold: 2,
      });

      await app.managedQueue.resume(queue);
      for (const { jobId } of jobs) await settled(jobId, 'completed');
      await alerts.check();
      await app.managedQueue.pause(queue);
      for (let i = 0; i < 3; i++) await enqueue();
      await alerts.check();
      expect(fired).toHaveLength(2);
    } finally {
      alerts.close();
    }
  });

  it('onFailureRate fires when failed attempts pass the ratio over the window, once per episode', async () => {
    const alerts = createAlerts(app, { minSamples: 4, failureWindowMs: 60_000 });
    const fired = deferred<FailureRateAlert>();
    const calls: FailureRateAlert[] = [];
    alerts.onFailureRate(0.5, (alert) => {
      calls.push(alert);
      fired.resolve(alert);
    });
    try {
      for (const fail of [false, false, true, true]) {
        const { jobId } = await enqueue({ fail });
        await settled(jobId, fail ? 'failed' : 'completed');
      }
      expect(calls).toHaveLength(0); // 2 of 4 is not above 0.5
      const { jobId } = await enqueue({ fail: true });
      await settled(jobId, 'failed');
      const alert = await within(fired.promise, 5_000, 'the failure-rate alert');
      expect(alert).toMatchObject({
        type: 'failureRate',
        pluginName: 'billing',
        queueName: 'invoices',
        failed: 3,
        completed: 2,
        ratio: 0.6,
        threshold: 0.5,
      });
      const more = await enqueue({ fail: true });
      await settled(more.jobId, 'failed');
      expect(calls).toHaveLength(1);
    } finally {
      alerts.close();
    }
  });

  it('refuses bad thresholds and reports a throwing callback instead of crashing', async () => {
    const errors: unknown[] = [];
    const alerts = createAlerts(app, { onError: (e) => errors.push(e) });
    try {
      expect(() => alerts.onFailureRate(1.5, () => {})).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
      expect(() => alerts.onBacklog(-1, () => {})).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
      alerts.onBacklog(0, () => {
        throw new Error('pager down');
      });
      await app.managedQueue.pause({ pluginName: 'billing', queueName: 'invoices' });
      await enqueue();
      await alerts.check();
      expect(errors).toEqual([expect.objectContaining({ message: 'pager down' })]);
    } finally {
      alerts.close();
    }
  });
});
