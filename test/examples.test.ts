/**
 * Every program in examples/ and `npm run demo` runs to completion (each under a deadline) and
 * prints what it promises; the README's "use it in your app" code is examples/quick-start.ts
 * verbatim, run here as two nodes of one cluster on Redis.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { randomName, within } from './helpers.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const env = {
  ...process.env,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

/** Runs a TypeScript program with tsx (as `npx tsx file` does) and returns its stdout. */
function runTs(file: string, extraEnv: Record<string, string> = {}, timeout = 60_000): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    timeout,
  });
  if (result.status !== 0) {
    throw new Error(`${file} exited ${result.status} (${result.signal ?? ''}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

describe('examples/', () => {
  it('memory.ts: two nodes share mail jobs, a lock and the cache', () => {
    const out = runTs('examples/memory.ts');
    expect(out.match(/sent mail to/g)).toHaveLength(4);
    expect(out).toContain('node-b reads the cache: hello');
    expect(out).toContain('memory example done');
  });

  it('job-processor.ts: @PluginJobProcessor jobs run inside the tenant that enqueued them', () => {
    const out = runTs('examples/job-processor.ts');
    expect(out).toContain('tenant acme: {"job":"render","invoiceId":7,"tenant":"acme"}');
    expect(out).toContain('tenant globex: {"job":"render","invoiceId":7,"tenant":"globex"}');
  });

  it('rabbitmq.ts: two nodes on RabbitMQ share invoices and hear a broadcast', () => {
    const out = runTs('examples/rabbitmq.ts', { EXAMPLE_PREFIX: randomName('example') });
    expect(out.match(/rendered invoice #/g)).toHaveLength(4);
    expect(out).toContain('node-b heard: prices changed for sku-42');
  });

  it('cjs-plugin/: an ESM host runs a CommonJS plugin (the built package)', () => {
    // The example imports the package by its own name, which resolves to dist/ (`npm run build`).
    if (!existsSync(`${ROOT}dist/index.cjs`)) {
      throw new Error('dist/ is missing: run `npm run build` first (`.ci/run` does)');
    }
    const result = spawnSync(process.execPath, ['examples/cjs-plugin/host.mjs'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('hello Ada (tenant acme)');
    expect(result.stdout).toContain('isClusterError across copies: true (INVALID_ARGUMENT)');
    expect(result.status).toBe(0);
  });

  it('npm run demo: step 1 spreads the orders over several nodes and says so', () => {
    const out = runTs('demo/demo.ts');
    const counts = /node-1 handled (\d+), node-2 handled (\d+), node-3 handled (\d+)/.exec(out);
    expect(counts).not.toBeNull();
    const handled = counts!.slice(1).map(Number);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(12);
    expect(handled.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(out).toMatch(/the work was spread over [23] of the 3 nodes/);
    expect(out).toContain('All three nodes stopped gracefully');
  });
});

describe('README', () => {
  it('shows examples/quick-start.ts verbatim (so the README code is typechecked and run)', () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const code = readFileSync(`${ROOT}examples/quick-start.ts`, 'utf8');
    expect(readme).toContain('```ts\n' + code + '```');
  });

  it('quick-start.ts: two nodes on Redis form one cluster, each order confirmed once, SIGTERM stops both', async () => {
    const prefix = randomName('quick');
    const nodes: { out: string; exited: Promise<number | null>; kill(): void }[] = [];
    const start = (args: string[]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'examples/quick-start.ts', ...args], {
        cwd: ROOT,
        env: { ...env, CLUSTERKIT_REDIS_PREFIX: prefix },
      });
      const node = {
        out: '',
        exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
        kill: () => child.kill('SIGTERM'),
      };
      child.stdout.on('data', (chunk: Buffer) => (node.out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (node.out += chunk.toString()));
      nodes.push(node);
      return node;
    };
    const confirmed = () => nodes.flatMap((n) => n.out.match(/confirmed order #\d+/g) ?? []);
    try {
      const first = start([]);
      await vi.waitFor(() => expect(first.out).toContain('started'), { timeout: 45_000, interval: 50 });
      start(['--publish', '12']);
      await vi.waitFor(() => expect(confirmed().length).toBeGreaterThanOrEqual(12), { timeout: 45_000, interval: 50 });
      expect(new Set(confirmed()).size).toBe(12);
    } finally {
      for (const node of nodes) node.kill();
    }
    const codes = await within(Promise.all(nodes.map((n) => n.exited)), 20_000, 'both nodes to stop on SIGTERM');
    expect(codes).toEqual([0, 0]);
    expect(confirmed()).toHaveLength(12);
  }, 120_000);
});
