/**
 * The `clusterkit` CLI as scripts and people meet it, without services: `--version`, errors as
 * JSON under `--json`, `NO_COLOR`, the hint for TypeScript plugin modules, the namespaced-id hint of
 * `queue status`, and `eventQueue.deadLetterChannels()` (what `dlq channels` lists) on memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger } from 'clusterkit';
import { useColor } from '../../src/cli/output.js';
import { explainLoadError } from '../../src/cli/plugin-loader.js';
import { ROOT, runCli } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ck-cli-use-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clusterkit --version', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});

describe('clusterkit --json errors', () => {
  const parse = (stderr: string) => JSON.parse(stderr.trim()) as { error: { code: string; message: string } };

  it('a command failure is {"error":{"code","message"}} on stderr, with the library code', async () => {
    const result = await runCli(['--json', 'queue', 'status', 'no-such-job']);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(parse(result.stderr).error).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('no-such-job'),
    });

    const bad = await runCli(['queue', 'cleanup', '--before', 'last week', '--json']);
    expect(bad.code).toBe(2);
    expect(parse(bad.stderr).error).toEqual({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('--before must look like 7d'),
    });
  });

  it('a usage error from the parser is JSON too, and nothing else is printed', async () => {
    const result = await runCli(['--json', 'queue', 'explode']);
    expect(result.code).toBe(2);
    expect(parse(result.stderr).error).toEqual({ code: 'USAGE', message: expect.stringContaining('explode') });
  });

  it('an unreachable broker is BACKEND_UNAVAILABLE', async () => {
    const result = await runCli([
      '--json',
      '--redis-url',
      'redis://127.0.0.1:1',
      '--connect-timeout',
      '3s',
      'queue',
      'stats',
    ]);
    expect(result.code).toBe(3);
    expect(parse(result.stderr).error.code).toBe('BACKEND_UNAVAILABLE');
  });

  it('without --json errors stay one readable line', async () => {
    const result = await runCli(['queue', 'status', 'mail:-:x']);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error'))).toEqual(['error: job "mail:-:x" not found']);
  });
});

describe('clusterkit queue status hint', () => {
  it('a bare caller id that is not found points at the namespaced form <plugin>:<tenant>:<id>', async () => {
    const result = await runCli(['queue', 'status', 'order-42']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('<plugin>:<tenant>:<jobId>');
    expect(result.stderr).toContain('mail:-:order-42');
  });
});

describe('NO_COLOR', () => {
  it('turns colour off even on a terminal or with FORCE_COLOR; the empty string does not count', () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(true, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(useColor(true, { NO_COLOR: '' })).toBe(true);
    expect(useColor(true, { FORCE_COLOR: '0' })).toBe(true);
  });
});

describe('worker --plugins x.ts', () => {
  it('explains how to run a TypeScript plugin when Node refuses the .ts file', () => {
    const plugin = join(dir, 'plugin.ts');
    writeFileSync(plugin, 'export default function setup(): void {}\n');
    // The real error plain Node 20 gives for a .ts module (the CLI under tsx would load it).
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import(${JSON.stringify(plugin)}).catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const real = JSON.parse(probe.stdout) as { code: string; message: string };
    const error = Object.assign(new TypeError(real.message), { code: real.code });
    const message = explainLoadError(plugin, error);
    expect(message).toContain('Node.js does not run TypeScript by itself');
    expect(message).toContain('node --import tsx');
    expect(message).toContain(`--plugins ${plugin}`);
    expect(explainLoadError('./p.js', new Error('boom'))).toBe('cannot load plugin module ./p.js: boom');
  });
});

describe('eventQueue.deadLetterChannels (memory)', () => {
  it("lists this app's channels with dead letters, not other apps' and not empty ones", async () => {
    const app = createApp({ name: 'dlq-chan', logger: silentLogger });
    const other = createApp({ name: 'dlq-chan-2', logger: silentLogger });
    await app.start();
    await other.start();
    try {
      const fail = { maxRetries: 0, process: () => Promise.reject(new Error('down')) };
      await app.eventQueue.subscribe('hooks:a', fail);
      await app.eventQueue.subscribe('fine', { process: async () => {} });
      await other.eventQueue.subscribe('theirs', fail);
      await app.eventQueue.publish('hooks:a', 1);
      await app.eventQueue.publish('hooks:a', 2);
      await app.eventQueue.publish('fine', 1);
      await other.eventQueue.publish('theirs', 1);
      await vi.waitFor(async () => expect((await app.eventQueue.counts('hooks:a')).dead).toBe(2), { timeout: 10_000 });
      await vi.waitFor(async () => expect((await other.eventQueue.counts('theirs')).dead).toBe(1), { timeout: 10_000 });
      expect(await app.eventQueue.deadLetterChannels()).toEqual([{ channel: 'hooks:a', dead: 2 }]);
    } finally {
      await app.stop();
      await other.stop();
    }
  });
});

describe('long durations on the command line', () => {
  it('queue submit --delay 30d and queue cleanup --before 30d are accepted (no timer involved)', async () => {
    const submit = await runCli(['--json', 'queue', 'submit', 'mail', 'outbox', 'send', '{}', '--delay', '30d']);
    expect(submit.code).toBe(0);
    expect(JSON.parse(submit.stdout)).toEqual({ jobId: expect.any(String) });
    const cleanup = await runCli(['--json', 'queue', 'cleanup', '--before', '30d']);
    expect(cleanup.code).toBe(0);
    expect(JSON.parse(cleanup.stdout)).toEqual({ removed: 0, state: 'completed', olderThanMs: 30 * 86_400_000 });
    const tooLong = await runCli(['--json', 'queue', 'submit', 'mail', 'outbox', 'send', '{}', '--delay', '400d']);
    expect(tooLong.code).toBe(2);
    expect(JSON.parse(tooLong.stderr).error.code).toBe('INVALID_OPTION');
  });
});
