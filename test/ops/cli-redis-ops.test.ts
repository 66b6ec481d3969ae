/**
 * `clusterkit dlq`, `dashboard` and `worker` as real processes against Redis, next to a node in this
 * test process; and the built binary (`dist/cli.js`, the package `bin`) after `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { counter, within } from '../helpers.js';
import { childEnv, ROOT, startCli } from './cli-process.js';
import { redisReachable, useRedisNode } from './cli-redis-fixture.js';

describe.skipIf(!redisReachable)('clusterkit dlq, dashboard and worker against Redis', () => {
  let dlqFixed = false;
  const redriven = counter(2);
  const f = useRedisNode(async (app) => {
    await app.eventQueue.subscribe('ops-dlq', {
      maxRetries: 0,
      process: async () => {
        if (!dlqFixed) throw new Error('webhook down');
        redriven.hit();
      },
    });
  });
  const { cli, cliJson, waitForState } = f;

  it('dlq list shows dead letters; dlq redrive --all puts them back', async () => {
    await f.app.eventQueue.publish('ops-dlq', { hook: 1 });
    await f.app.eventQueue.publish('ops-dlq', { hook: 2 });
    await vi.waitFor(async () => expect((await f.app.eventQueue.counts('ops-dlq')).dead).toBe(2), {
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
    expect((await f.app.eventQueue.counts('ops-dlq')).dead).toBe(0);
  }, 60_000);

  it('dlq list defaults to the managed-job queue', async () => {
    const listed = await cliJson<{ channel: string; total: number }>('dlq', 'list');
    expect(listed.channel).toBe('managed-queue:plugin-jobs');
    expect(listed.total).toBe(0);
  });

  it('clusterkit dashboard serves this cluster: a failed job is listed, retried from the API and completes', async () => {
    const { jobId } = await f.app.managedQueue.enqueue({
      pluginName: 'mail',
      queueName: 'outbox',
      jobName: 'send',
      tenantId: 'acme',
      payload: { to: 'e@example.com', fail: true, password: 'pw' },
    });
    await waitForState(jobId, 'failed');
    const token = 'redis-dashboard-token-0123456789';
    const dash = startCli([...f.flags, 'dashboard', '--port', '0', '--token', token]);
    try {
      const base = /listening on (\S+)/.exec(await dash.waitForLine(/^dashboard listening on /))![1]!;
      const headers = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}api/jobs?state=failed`)).status).toBe(401);
      const failed = (await (await fetch(`${base}api/jobs?state=failed&tenant=acme`, { headers })).json()) as {
        jobs: { id: string; payload: { password: string } }[];
      };
      expect(failed.jobs.map((j) => j.id)).toContain(jobId);
      expect(failed.jobs.find((j) => j.id === jobId)!.payload.password).toBe('[redacted]');
      f.fixed = true;
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
      f.fixed = false;
      expect(await dash.stop('SIGTERM')).toBe(0);
    }
  });

  it('clusterkit worker on another process runs jobs this node enqueues, and stops gracefully', async () => {
    const worker = startCli(
      [...f.flags, 'worker', '--plugins', './test/ops/fixtures/mail-plugin.mjs', '--concurrency', '3'],
      {
        MAIL_PLUGIN: 'courier',
      },
    );
    try {
      await worker.waitForLine(/^worker .* started/);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const { jobId } = await f.app.managedQueue.enqueue({
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
        expect(await f.app.managedQueue.getJob(id)).toMatchObject({
          state: 'completed',
          returnValue: { sent: expect.stringMatching(/^w\d@example\.com$/) },
        });
      }
    } finally {
      expect(await worker.stop('SIGTERM')).toBe(0);
    }
    expect(worker.lines).toContain('stopped');
  });

  // A pseudo-terminal (util-linux `script`) makes stderr a TTY, as in an operator's shell.
  it.skipIf(spawnSync('script', ['--version']).status !== 0)(
    'long operations show a progress bar on a terminal',
    async () => {
      await f.app.eventQueue.subscribe('bulk-dlq', {
        maxRetries: 0,
        process: async () => {
          throw new Error('bulk import rejected');
        },
      });
      for (let i = 0; i < 3; i++) await f.app.eventQueue.publish('bulk-dlq', { row: i });
      await vi.waitFor(async () => expect((await f.app.eventQueue.counts('bulk-dlq')).dead).toBe(3), {
        timeout: 20_000,
        interval: 50,
      });
      const command = [
        `${ROOT}node_modules/.bin/tsx`,
        `${ROOT}src/cli/index.ts`,
        ...f.flags,
        'dlq',
        'delete',
        'bulk-dlq',
        '--all',
      ].join(' ');
      const run = spawnSync('script', ['-qec', command, '/dev/null'], {
        cwd: ROOT,
        env: childEnv({}),
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('delete bulk-dlq [');
      expect(run.stdout).toContain('3/3');
      expect(run.stdout).toContain('deleted 3 dead letter(s) of bulk-dlq');
    },
  );

  it.skipIf(!existsSync(`${ROOT}dist/cli.js`) && process.env.CI !== 'true')(
    'the built dist/cli.js runs the same commands',
    () => {
      const run = spawnSync(process.execPath, [`${ROOT}dist/cli.js`, ...f.flags, 'queue', 'stats', '--json'], {
        cwd: ROOT,
        env: childEnv({}),
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const stats = JSON.parse(run.stdout) as { pluginName: string }[];
      expect(stats.some((s) => s.pluginName === 'mail')).toBe(true);
    },
  );
});
