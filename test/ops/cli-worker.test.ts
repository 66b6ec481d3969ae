/**
 * `clusterkit worker` as a real process: `--grace` reaches `createApp({ stopGracePeriodMs })` (a
 * long job finishes within the grace period after a real SIGTERM, or is aborted when the grace
 * period is shorter than the job), and `--metrics-port` serves this node's Prometheus metrics.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './cli-process.js';

const SLOW = './test/ops/fixtures/slow-plugin.mjs';
const MAIL = './test/ops/fixtures/mail-plugin.mjs';
const running: CliProcess[] = [];

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL').catch(() => {})));
});

function worker(args: string[], env: Record<string, string> = {}): CliProcess {
  const p = startCli(['--adapter', 'memory', '--app', 'cli-worker', 'worker', ...args], env);
  running.push(p);
  return p;
}

describe('clusterkit worker --grace', () => {
  it('lets a job longer than the default 10 s grace finish after SIGTERM when --grace allows it', async () => {
    // 12 s of work, SIGTERM one moment after it starts: the library default (10 s) would abort it.
    const w = worker(['--plugins', SLOW, '--grace', '20s'], { SLOW_MS: '12000' });
    await w.waitForLine(/^running slow:-:long/);
    const sentAt = Date.now();
    w.child.kill('SIGTERM');
    expect(await w.waitForLine(/^SIGTERM: stopping/)).toContain('up to 20000 ms');
    expect(await w.waitForLine(/^completed slow\/work\/sleep slow:-:long in \d+ms/, 40_000)).toBeTruthy();
    expect(await w.exited(40_000)).toBe(0);
    expect(Date.now() - sentAt).toBeGreaterThan(9_000);
    expect(w.lines.some((l) => l.startsWith('aborted'))).toBe(false);
    expect(w.lines[w.lines.length - 1]).toBe('stopped');
  }, 60_000);

  it('aborts the job once a shorter --grace has passed, and says so up front', async () => {
    const w = worker(['--plugins', SLOW, '--grace', '1s'], { SLOW_MS: '8000' });
    await w.waitForLine(/^running slow:-:long/);
    w.child.kill('SIGTERM');
    expect(await w.waitForLine(/^SIGTERM: stopping/)).toContain('up to 1000 ms');
    const aborted = await w.waitForLine(/^aborted slow:-:long after \d+ms/);
    expect(Number(/after (\d+)ms/.exec(aborted)![1])).toBeLessThan(6_000);
    expect(await w.exited(30_000)).toBe(0);
    expect(w.lines.some((l) => l.startsWith('completed'))).toBe(false);
  }, 60_000);
});

describe('clusterkit worker --metrics-port', () => {
  it("serves this node's job metrics and standard Node process metrics on /metrics", async () => {
    const w = worker(['--plugins', MAIL, '--metrics-port', '0'], { MAIL_SEED: '2', MAIL_FAIL_FIRST: '1' });
    const url = /metrics on (\S+)/.exec(await w.waitForLine(/^metrics on http:\/\/127\.0\.0\.1:\d+\/metrics$/))![1]!;
    await w.waitForLine(/^completed mail\/outbox\/send mail:acme:seed-1 /);
    await w.waitForLine(/^failed mail\/outbox\/send mail:acme:seed-0/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^clusterkit_jobs_completed_total\{[^}]*plugin="mail",queue="outbox",job="send"[^}]*\} 1$/m);
    expect(text).toMatch(/^clusterkit_job_duration_seconds_count\{[^}]*status="completed"[^}]*\} 1$/m);
    expect(text).toMatch(/^clusterkit_job_failures_total\{[^}]*\} 1$/m);
    // prom-client's default metrics under their standard names, as stock Node.js dashboards expect.
    expect(text).toMatch(/^process_cpu_seconds_total\{node="[^"]+"\} /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes\{node="[^"]+"\} /m);
    expect(text).not.toMatch(/clusterkit_(process|nodejs)_/);
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    expect(await w.stop('SIGTERM')).toBe(0);
  });

  it('refuses a port that is not a number, with exit code 2', async () => {
    const result = await runCli(['--adapter', 'memory', 'worker', '--plugins', MAIL, '--metrics-port', 'abc']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('port must be an integer from 0 to 65535, got "abc"');
  });
});
