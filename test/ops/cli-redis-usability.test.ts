/**
 * The `clusterkit` CLI against Redis, as an operator meets it: `dlq channels` finds the channels
 * with dead letters, `dlq redrive` names ids it did not find, secret payload fields are redacted
 * exactly as the dashboard redacts them (`--no-redact` shows them), and long durations (`30d`)
 * are accepted where no timer is involved.
 */
import { describe, expect, it, vi } from 'vitest';
import { redisReachable, useRedisNode } from './cli-redis-fixture.js';

describe.skipIf(!redisReachable)('clusterkit CLI usability against Redis', () => {
  const f = useRedisNode(async (app) => {
    for (const channel of ['hooks:out', 'mailer']) {
      await app.eventQueue.subscribe(channel, {
        maxRetries: 0,
        process: () => Promise.reject(new Error(`${channel} down`)),
      });
    }
    await app.eventQueue.subscribe('healthy', { process: async () => {} });
  });
  const { cli, cliJson } = f;
  const dead = (channel: string, n: number) =>
    vi.waitFor(async () => expect((await f.app.eventQueue.counts(channel)).dead).toBe(n), {
      timeout: 20_000,
      interval: 50,
    });

  it('dlq channels lists the channels that hold dead letters, with counts', async () => {
    await f.app.eventQueue.publish('hooks:out', { hook: 1, token: 'tok-secret' });
    await f.app.eventQueue.publish('hooks:out', { hook: 2 });
    await f.app.eventQueue.publish('mailer', { to: 'a@example.com' });
    await f.app.eventQueue.publish('healthy', { ok: true });
    await dead('hooks:out', 2);
    await dead('mailer', 1);
    expect(await cliJson('dlq', 'channels')).toEqual({
      channels: [
        { channel: 'hooks:out', dead: 2 },
        { channel: 'mailer', dead: 1 },
      ],
    });
    const table = await cli('dlq', 'channels');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/hooks:out\s*│\s*2/);
  });

  it('dlq list redacts secret fields like the dashboard does; --no-redact shows them', async () => {
    const listed = await cliJson<{ deadLetters: { message: { hook: number; token?: string } }[] }>(
      'dlq',
      'list',
      'hooks:out',
    );
    const withToken = listed.deadLetters.find((d) => d.message.hook === 1)!;
    expect(withToken.message.token).toBe('[redacted]');
    expect((await cli('dlq', 'list', 'hooks:out')).stdout).not.toContain('tok-secret');
    const shown = await cliJson<{ deadLetters: { message: { token?: string } }[] }>(
      '--no-redact',
      'dlq',
      'list',
      'hooks:out',
    );
    expect(shown.deadLetters.map((d) => d.message.token)).toContain('tok-secret');
  });

  it('dlq redrive with ids reports the ids it did not find (exit 4) and redrives the rest', async () => {
    const [letter] = await f.app.eventQueue.listDeadLetters('mailer', { offset: 0, limit: 10 });
    const result = await cli('dlq', 'redrive', 'mailer', letter!.id, 'no-such-id', '--json');
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toEqual({ channel: 'mailer', redriven: 1, notFound: ['no-such-id'] });
    expect(JSON.parse(result.stderr).error).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('no-such-id'),
    });
    const text = await cli('dlq', 'delete', 'mailer', 'gone-1', 'gone-2');
    expect(text.code).toBe(4);
    expect(text.stdout).toContain('not found in mailer: gone-1 gone-2');
  });

  it('queue status and list redact the payload secrets; --no-redact shows them', async () => {
    const { jobId } = await f.app.managedQueue.enqueue({
      pluginName: 'mail',
      queueName: 'outbox',
      jobName: 'send',
      payload: { to: 'x@example.com', password: 'hunter2', nested: { apiKey: 'k-123' } },
    });
    await f.waitForState(jobId, 'completed');
    const status = await cliJson<{ payload: Record<string, unknown> }>('queue', 'status', jobId);
    expect(status.payload).toEqual({ to: 'x@example.com', password: '[redacted]', nested: { apiKey: '[redacted]' } });
    const text = await cli('queue', 'status', jobId);
    expect(text.stdout).not.toContain('hunter2');
    expect(text.stdout).not.toContain('k-123');
    const list = await cliJson<{ jobs: { id: string; payload: { password: string } }[] }>('queue', 'list');
    expect(list.jobs.find((j) => j.id === jobId)!.payload.password).toBe('[redacted]');
    const shown = await cliJson<{ payload: Record<string, unknown> }>('--no-redact', 'queue', 'status', jobId);
    expect(shown.payload).toMatchObject({ password: 'hunter2', nested: { apiKey: 'k-123' } });
  });
});
