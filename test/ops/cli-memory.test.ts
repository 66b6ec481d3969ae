/**
 * The `clusterkit` CLI as a real process on the memory backend. Memory is per process, so these
 * cover the commands whose work happens inside the CLI process itself: `worker` (graceful stop on
 * SIGTERM/SIGINT), `dashboard --plugins` (an API driven over HTTP), and the error exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli, startCli, type CliProcess } from './cli-process.js';

const PLUGIN = './test/ops/fixtures/mail-plugin.mjs';
const TOKEN = 'memory-test-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'ck-cli-'));
const running: CliProcess[] = [];

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL').catch(() => {})));
  rmSync(dir, { recursive: true, force: true });
});

describe('clusterkit worker (memory)', () => {
  it('loads plugin modules, processes jobs, reports failures and stops gracefully on SIGTERM', async () => {
    const worker = startCli(
      ['--adapter', 'memory', '--app', 'cli-mem', 'worker', '--plugins', PLUGIN, '--concurrency', '4'],
      {
        MAIL_SEED: '3',
        MAIL_FAIL_FIRST: '1',
      },
    );
    running.push(worker);
    expect(await worker.waitForLine(/^worker .* started/)).toContain('mail-plugin.mjs: setup function');
    expect(await worker.waitForLine(/^failed mail\/outbox\/send mail:acme:seed-0/)).toContain(
      'smtp refused user0@example.com',
    );
    await worker.waitForLine(/^completed mail\/outbox\/send mail:acme:seed-1 /);
    await worker.waitForLine(/^completed mail\/outbox\/send mail:acme:seed-2 /);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.lines).toContain('stopped');
    expect(worker.lines.some((l) => l.startsWith('SIGTERM: stopping'))).toBe(true);
  });

  it('prints NDJSON events with --json and stops on SIGINT', async () => {
    const worker = startCli(['--json', '--app', 'cli-mem', 'worker', '--plugins', PLUGIN], { MAIL_SEED: '1' });
    running.push(worker);
    const completed = JSON.parse(await worker.waitForLine(/"event":"completed"/)) as Record<string, unknown>;
    expect(completed).toMatchObject({ event: 'completed', jobId: 'mail:acme:seed-0', job: 'mail/outbox/send' });
    expect(await worker.stop('SIGINT')).toBe(0);
    expect(worker.lines.map((l) => JSON.parse(l).event)).toEqual(['started', 'completed', 'stopping', 'stopped']);
  });

  it('refuses a plugin module that exports nothing loadable, with exit code 2', async () => {
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const nothing = 1;\n');
    const result = await runCli(['worker', '--plugins', empty]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('exports nothing clusterkit can load');
  });
});

describe('clusterkit dashboard (memory, with --plugins)', () => {
  it('serves the API behind a token: 401 without it, retry of a failed job completes it', async () => {
    const fixFile = join(dir, 'fixed');
    const dash = startCli(['--app', 'cli-dash', 'dashboard', '--port', '0', '--token', TOKEN, '--plugins', PLUGIN], {
      MAIL_SEED: '2',
      MAIL_FAIL_FIRST: '1',
      MAIL_FIX_FILE: fixFile,
    });
    running.push(dash);
    const url = /listening on (\S+)/.exec(await dash.waitForLine(/^dashboard listening on /))![1]!;
    const auth = { authorization: `Bearer ${TOKEN}` };

    expect((await fetch(`${url}api/overview`)).status).toBe(401);
    expect((await fetch(url)).status).toBe(401);
    expect(
      (await fetch(`${url}api/overview`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);

    const failed = await waitFor(async () => {
      const res = await fetch(`${url}api/jobs?state=failed`, { headers: auth });
      const body = (await res.json()) as { jobs: { id: string; payload: { password: string } }[] };
      return body.jobs.length === 1 ? body.jobs[0]! : undefined;
    });
    expect(failed.id).toBe('mail:acme:seed-0');
    expect(failed.payload.password).toBe('[redacted]');

    writeFileSync(fixFile, 'ok');
    const retry = await fetch(`${url}api/jobs/${encodeURIComponent(failed.id)}/retry`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await retry.json()).toEqual({ success: true });
    const done = await waitFor(async () => {
      const job = (await (
        await fetch(`${url}api/jobs/${encodeURIComponent(failed.id)}`, { headers: auth })
      ).json()) as {
        state: string;
        returnValue?: unknown;
      };
      return job.state === 'completed' ? job : undefined;
    });
    expect(done.returnValue).toEqual({ sent: 'user0@example.com' });

    const metrics = await (await fetch(`${url}metrics`, { headers: auth })).text();
    expect(metrics).toContain('clusterkit_jobs{plugin="mail",queue="outbox",state="completed"} 2');

    // The printed login link is one-time and never carries the token.
    const loginUrl = /one-time link, valid 10 min\): (\S+)/.exec(await dash.waitForLine(/^log in /))![1]!;
    expect(loginUrl.startsWith(`${url}login?link=`)).toBe(true);
    expect(loginUrl).not.toContain(TOKEN);
    const link = new URL(loginUrl).searchParams.get('link')!;
    const use = () =>
      fetch(`${url}login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ link }),
        redirect: 'manual',
      });
    const first = await use();
    expect(first.status).toBe(303);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${url}api/overview`, { headers: { cookie } })).status).toBe(200);
    expect((await use()).status).toBe(401);
    expect(await dash.stop('SIGTERM')).toBe(0);
  });

  it('refuses to bind beyond loopback without auth', async () => {
    const result = await runCli(['dashboard', '--host', '0.0.0.0', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to serve the dashboard on 0.0.0.0 without auth');
  });
});

describe('clusterkit errors', () => {
  it('an unknown job exits 4 with a clear message', async () => {
    const result = await runCli(['queue', 'status', 'no-such-job']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('job "no-such-job" not found');
  });

  it('an unreachable broker exits 3 and names it (password hidden)', async () => {
    const result = await runCli([
      '--redis-url',
      'redis://user:secret@127.0.0.1:1',
      '--connect-timeout',
      '3s',
      'queue',
      'stats',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot connect to redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1/);
    expect(result.stderr).not.toContain('secret');
  });

  it('bad input exits 2: invalid JSON payload, unknown state, bad duration', async () => {
    const payload = await runCli(['queue', 'submit', 'mail', 'outbox', 'send', '{not json']);
    expect(payload.code).toBe(2);
    expect(payload.stderr).toContain('payload is not valid JSON');
    const state = await runCli(['queue', 'list', '--state', 'sleeping']);
    expect(state.code).toBe(2);
    expect(state.stderr).toContain('--state must be one of');
    const duration = await runCli(['queue', 'cleanup', '--before', 'last week']);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toContain('--before must look like 7d');
  });

  it('a usage error (unknown command) exits 2 and shows a hint', async () => {
    const result = await runCli(['queue', 'explode']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--help');
  });
});

/** Waits until an HTTP read yields a value (vi.waitFor: each round is a real request, under a deadline). */
function waitFor<T>(read: () => Promise<T | undefined>, timeout = 20_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await read();
      if (value === undefined) throw new Error('not yet');
      return value;
    },
    { timeout, interval: 100 },
  );
}
