/**
 * `clusterkit queue …` as a real process against Redis: an app in this test process is the
 * cluster's worker node; each CLI run is another node on the same prefix and app name, reading and
 * steering the same jobs.
 */
import { describe, expect, it } from 'vitest';
import { redisReachable, useRedisNode } from './cli-redis-fixture.js';

describe.skipIf(!redisReachable)('clusterkit queue against Redis', () => {
  const f = useRedisNode();
  const { cli, cliJson, stateOf, waitForState } = f;

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
    // The attempt history: number, node, start, end, outcome.
    expect(human.stdout).toContain(f.app.nodeId);
    expect(human.stdout).toMatch(/│ 1\s+│ .*│ completed/);
    const logs = await cli('queue', 'logs', jobId);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('sending to a@example.com\n');
    expect(await cliJson('queue', 'logs', jobId)).toEqual({ jobId, logs: ['sending to a@example.com'] });
    expect((await cli('queue', 'logs', 'missing-job')).code).toBe(4);
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
    const job = await f.app.managedQueue.getJob(jobId);
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
    const { jobId } = await f.app.managedQueue.enqueue({
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

    f.fixed = true;
    try {
      expect((await cli('queue', 'retry', jobId)).stdout).toContain(`retry job ${jobId}: ok`);
      await waitForState(jobId, 'completed');
    } finally {
      f.fixed = false;
    }
    const again = await cli('queue', 'retry', jobId);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('completed');
  });

  it('queue retry --all-failed retries every failed job of a filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { jobId } = await f.app.managedQueue.enqueue({
        pluginName: 'mail',
        queueName: 'outbox',
        jobName: 'send',
        tenantId: 'globex',
        payload: { to: `c${i}@example.com`, fail: true },
      });
      ids.push(jobId);
    }
    for (const id of ids) await waitForState(id, 'failed');
    f.fixed = true;
    try {
      expect(await cliJson('queue', 'retry', '--all-failed', '--tenant', 'globex')).toEqual({
        retried: 3,
        skipped: [],
      });
      for (const id of ids) await waitForState(id, 'completed');
    } finally {
      f.fixed = false;
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
    expect(await f.app.managedQueue.isPaused({ pluginName: 'mail', queueName: 'outbox' })).toBe(true);
    const { jobId } = await f.app.managedQueue.enqueue({
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
    const before = (await f.app.managedQueue.listJobs({ state: 'completed' })).total;
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
    expect((await f.app.managedQueue.listJobs({ state: 'completed' })).total).toBe(0);
  });

  it('an unknown job exits 4', async () => {
    const result = await cli('queue', 'status', 'missing-job');
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('error: job "missing-job" not found.');
    // A bare id: the hint names the namespaced form a caller's jobId is stored under.
    expect(result.stderr).toContain('<plugin>:<tenant>:<jobId>');
  });

  // The packaged binary (`bin: dist/cli.js`) after `npm run build`, which CI runs before the tests.
});
