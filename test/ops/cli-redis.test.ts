/**
 * The `clusterkit` CLI as a real process against Redis: an app in this test process is the
 * cluster's worker node; each CLI run is another node on the same prefix and app name, reading
 * and steering the same jobs and dead letters.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deletePrefix, redisAnswers } from '../conformance/redis-factory.js';
import { counter, randomName, within } from '../helpers.js';
import { ROOT, runCli, runCliJson, startCli } from './cli-process.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const reachable = await redisAnswers(url);
if (!reachable && process.env.CI === 'true')
  throw new Error(`Redis does not answer at ${url} (CI=true: refusing to skip)`);

describe.skipIf(!reachable)('clusterkit CLI against Redis', () => {
  const prefix = randomName('ckops');
  const appName = randomName('shop');
  const flags = ['--redis-url', url, '--redis-prefix', prefix, '--app', appName];
  const cli = (...args: string[]) => runCli([...flags, ...args]);
  const cliJson = <T = any>(...args: string[]) => runCliJson<T>([...flags, ...args]);
  let app: App;
  let fixed = false;
  let dlqFixed = false;
  const redriven = counter(2);

  beforeAll(async () => {
    app = createApp({ name: appName, adapters: createRedisAdapters({ url, prefix }), logger: silentLogger });
    await app.managedQueue.process(
      { pluginName: 'mail', queueName: 'outbox', jobName: 'send', concurrency: 4 },
      async (job) => {
        if (job.data.fail && !fixed) throw new Error(`smtp refused ${job.data.to}`);
        return { sent: job.data.to };
      },
    );
    await app.eventQueue.subscribe('ops-dlq', {
      maxRetries: 0,
      process: async () => {
        if (!dlqFixed) throw new Error('webhook down');
        redriven.hit();
      },
    });
    await app.start();
  });

  afterAll(async () => {
    await app?.stop();
    const client = new Redis(url);
    await deletePrefix(client, prefix);
    client.disconnect();
  });

  const stateOf = async (jobId: string) => (await app.managedQueue.getJob(jobId))?.state;
  const waitForState = (jobId: string, state: string) =>
    vi.waitFor(async () => expect(await stateOf(jobId)).toBe(state), { timeout: 20_000, interval: 50 });

  it('queue submit enqueues a job a worker node runs; queue status shows it', async () => {
    const { jobId } = await cliJson<{ jobId: string }>(
      'queue',
      'submit',
      'mail',
      'outbox',
      'send',
      '{"to":"a@example.com"}',
      '--tenant',
      'acme',
    );
    await waitForState(jobId, 'completed');
    const status = await cliJson('queue', 'status', jobId);
    expect(status).toMatchObject({
      id: jobId,
      state: 'completed',
      tenantId: 'acme',
      returnValue: { sent: 'a@example.com' },
    });
    const human = await cli('queue', 'status', jobId);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/│ state\s+│ completed/);
    expect(human.stdout).toContain('mail/outbox/send');
  });

  it('queue submit passes --delay, --priority and --attempts', async () => {
    const { jobId } = await cliJson<{ jobId: string }>(
      'queue',
      'submit',
      'mail',
      'outbox',
      'send',
      '{"to":"later@example.com"}',
      '--tenant',
      'acme',
      '--delay',
      '1h',
      '--priority',
      '1',
      '--attempts',
      '3',
    );
    const job = await app.managedQueue.getJob(jobId);
    expect(job).toMatchObject({ state: 'delayed', priority: 1, maxAttempts: 3 });
    expect(job!.timestamps.runAt! - job!.timestamps.enqueuedAt).toBeGreaterThanOrEqual(3_600_000);

    // queue cancel: a delayed job is cancelled; an unknown one exits 4.
    expect(await cliJson('queue', 'cancel', jobId)).toEqual({ success: true });
    expect(await stateOf(jobId)).toBe('cancelled');
    const unknown = await cli('queue', 'cancel', 'no-such-job');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('could not cancel job no-such-job: not_found');
  });

  it('queue list shows failed jobs; queue retry runs one again', async () => {
    const { jobId } = await app.managedQueue.enqueue({
      pluginName: 'mail',
      queueName: 'outbox',
      jobName: 'send',
      tenantId: 'acme',
      payload: { to: 'b@example.com', fail: true },
    });
    await waitForState(jobId, 'failed');
    const { jobs, total } = await cliJson<{ jobs: { id: string; failedReason: string }[]; total: number }>(
      'queue',
      'list',
      '--state',
      'failed',
      '--plugin',
      'mail',
      '--tenant',
      'acme',
    );
    expect(total).toBe(1);
    expect(jobs[0]).toMatchObject({ id: jobId, failedReason: 'smtp refused b@example.com' });
    const table = await cli('queue', 'list', '--state', 'failed');
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(jobId);
    expect(table.stdout).toContain('smtp refused b@example.com');

    fixed = true;
    try {
      expect((await cli('queue', 'retry', jobId)).stdout).toContain(`retry job ${jobId}: ok`);
      await waitForState(jobId, 'completed');
    } finally {
      fixed = false;
    }
    const again = await cli('queue', 'retry', jobId);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('completed');
  });

  it('queue retry --all-failed retries every failed job of a filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { jobId } = await app.managedQueue.enqueue({
        pluginName: 'mail',
        queueName: 'outbox',
        jobName: 'send',
        tenantId: 'globex',
        payload: { to: `c${i}@example.com`, fail: true },
      });
      ids.push(jobId);
    }
    for (const id of ids) await waitForState(id, 'failed');
    fixed = true;
    try {
      expect(await cliJson('queue', 'retry', '--all-failed', '--tenant', 'globex')).toEqual({
        retried: 3,
        skipped: [],
      });
      for (const id of ids) await waitForState(id, 'completed');
    } finally {
      fixed = false;
    }
    const usage = await cli('queue', 'retry');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give a job id or --all-failed');
  });

  it('queue pause/resume steer a logical queue; queue stats counts per plugin/queue/tenant', async () => {
    expect(await cliJson('queue', 'pause', 'mail', 'outbox')).toEqual({
      pluginName: 'mail',
      queueName: 'outbox',
      paused: true,
    });
    expect(await app.managedQueue.isPaused({ pluginName: 'mail', queueName: 'outbox' })).toBe(true);
    const { jobId } = await app.managedQueue.enqueue({
      pluginName: 'mail',
      queueName: 'outbox',
      jobName: 'send',
      tenantId: 'initech',
      payload: { to: 'd@example.com' },
    });
    const stats = await cliJson<
      { pluginName: string; queueName: string; tenantId?: string; waiting: number; paused: boolean }[]
    >('queue', 'stats');
    expect(stats.find((s) => s.tenantId === 'initech')).toMatchObject({
      pluginName: 'mail',
      queueName: 'outbox',
      waiting: 1,
      paused: true,
    });
    expect(stats.find((s) => s.tenantId === 'acme')).toMatchObject({ paused: true });
    expect((await cli('queue', 'stats')).stdout).toMatch(/│ mail\s+│ outbox\s+│ initech\s+│\s+1 │/);

    expect((await cli('queue', 'resume', 'mail', 'outbox')).stdout).toContain('mail/outbox is running');
    await waitForState(jobId, 'completed');
  });

  it('queue cleanup --before deletes finished jobs older than a duration', async () => {
    const before = (await app.managedQueue.listJobs({ state: 'completed' })).total;
    expect(before).toBeGreaterThan(0);
    expect(await cliJson('queue', 'cleanup', '--before', '1h')).toMatchObject({ removed: 0, state: 'completed' });
    const result = await cliJson<{ removed: number }>(
      'queue',
      'cleanup',
      '--before',
      '0s',
      '--state',
      'completed',
      '--batch',
      '2',
    );
    expect(result.removed).toBe(before);
    expect((await app.managedQueue.listJobs({ state: 'completed' })).total).toBe(0);
  });

  it('dlq list shows dead letters; dlq redrive --all puts them back', async () => {
    await app.eventQueue.publish('ops-dlq', { hook: 1 });
    await app.eventQueue.publish('ops-dlq', { hook: 2 });
    await vi.waitFor(async () => expect((await app.eventQueue.counts('ops-dlq')).dead).toBe(2), {
      timeout: 20_000,
      interval: 50,
    });

    const listed = await cliJson<{ total: number; deadLetters: { message: unknown; error: { message: string } }[] }>(
      'dlq',
      'list',
      'ops-dlq',
    );
    expect(listed.total).toBe(2);
    expect(listed.deadLetters.map((d) => d.message)).toEqual(expect.arrayContaining([{ hook: 1 }, { hook: 2 }]));
    expect(listed.deadLetters[0]!.error.message).toBe('webhook down');
    expect((await cli('dlq', 'list', 'ops-dlq')).stdout).toContain('webhook down');

    const refused = await cli('dlq', 'redrive', 'ops-dlq');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--all');

    dlqFixed = true;
    expect(await cliJson('dlq', 'redrive', 'ops-dlq', '--all')).toEqual({ channel: 'ops-dlq', redriven: 2 });
    await within(redriven.done, 20_000, 'redriven messages to be handled');
    expect((await app.eventQueue.counts('ops-dlq')).dead).toBe(0);
  });

  it('dlq list defaults to the managed-job queue', async () => {
    const listed = await cliJson<{ channel: string; total: number }>('dlq', 'list');
    expect(listed.channel).toBe('managed-queue:plugin-jobs');
    expect(listed.total).toBe(0);
  });

  it('clusterkit dashboard serves this cluster: a failed job is listed, retried from the API and completes', async () => {
    const { jobId } = await app.managedQueue.enqueue({
      pluginName: 'mail',
      queueName: 'outbox',
      jobName: 'send',
      tenantId: 'acme',
      payload: { to: 'e@example.com', fail: true, password: 'pw' },
    });
    await waitForState(jobId, 'failed');
    const token = 'redis-dashboard-token-0123456789';
    const dash = startCli([...flags, 'dashboard', '--port', '0', '--token', token]);
    try {
      const base = /listening on (\S+)/.exec(await dash.waitForLine(/^dashboard listening on /))![1]!;
      const headers = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}api/jobs?state=failed`)).status).toBe(401);
      const failed = (await (await fetch(`${base}api/jobs?state=failed&tenant=acme`, { headers })).json()) as {
        jobs: { id: string; payload: { password: string } }[];
      };
      expect(failed.jobs.map((j) => j.id)).toContain(jobId);
      expect(failed.jobs.find((j) => j.id === jobId)!.payload.password).toBe('[redacted]');
      fixed = true;
      const retry = await fetch(`${base}api/jobs/${encodeURIComponent(jobId)}/retry`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await retry.json()).toEqual({ success: true });
      // The dashboard process is not a worker: this test process's node runs the job.
      await waitForState(jobId, 'completed');
      const metrics = await (await fetch(`${base}metrics`, { headers })).text();
      expect(metrics).toContain('clusterkit_backend_up 1');
      expect(metrics).toMatch(/clusterkit_jobs\{plugin="mail",queue="outbox",state="completed"\} [1-9]/);
    } finally {
      fixed = false;
      expect(await dash.stop('SIGTERM')).toBe(0);
    }
  });

  it('clusterkit worker on another process runs jobs this node enqueues, and stops gracefully', async () => {
    const worker = startCli(
      [...flags, 'worker', '--plugins', './test/ops/fixtures/mail-plugin.mjs', '--concurrency', '3'],
      {
        MAIL_PLUGIN: 'courier',
      },
    );
    try {
      await worker.waitForLine(/^worker .* started/);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { jobId } = await app.managedQueue.enqueue({
          pluginName: 'courier',
          queueName: 'outbox',
          jobName: 'send',
          tenantId: 'acme',
          payload: { to: `w${i}@example.com` },
        });
        ids.push(jobId);
      }
      for (const id of ids) await worker.waitForLine(new RegExp(`^completed courier/outbox/send ${id} `));
      for (const id of ids) {
        expect(await app.managedQueue.getJob(id)).toMatchObject({
          state: 'completed',
          returnValue: { sent: expect.stringMatching(/^w\d@example\.com$/) },
        });
      }
    } finally {
      expect(await worker.stop('SIGTERM')).toBe(0);
    }
    expect(worker.lines).toContain('stopped');
  });

  it('an unknown job exits 4', async () => {
    const result = await cli('queue', 'status', 'missing-job');
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('error: job "missing-job" not found\n');
  });

  // The packaged binary (`bin: dist/cli.js`) after `npm run build`, which CI runs before the tests.
  it.skipIf(!existsSync(`${ROOT}dist/cli.js`) && process.env.CI !== 'true')(
    'the built dist/cli.js runs the same commands',
    () => {
      const run = spawnSync(process.execPath, [`${ROOT}dist/cli.js`, ...flags, 'queue', 'stats', '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const stats = JSON.parse(run.stdout) as { pluginName: string }[];
      expect(stats.some((s) => s.pluginName === 'mail')).toBe(true);
    },
  );
});
