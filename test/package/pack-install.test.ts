/**
 * The package as a user meets it: `npm pack` from a clean checkout (the tracked files only, no
 * `dist/`, so `prepack` must build), installed into a scratch consumer project, then run as ESM and
 * CommonJS (`clusterkit`, `clusterkit/redis`, `clusterkit/rabbitmq`, `clusterkit/adapter-kit`), an
 * ESM host with a CommonJS plugin (one tenant context and one error brand across the two copies), the
 * core held once per format (by `clusterkit/adapter-kit`; the root entry, the adapters and
 * `clusterkit/ops` import it), the `clusterkit` bin, and a strict TypeScript consumer (an app and a
 * custom adapter) typechecked under moduleResolution node10, node16 and bundler.
 *
 * Needs npm's registry (or its cache) for the tarball's dependencies, Redis and RabbitMQ. About two
 * minutes on a quiet two-core machine (the build inside `npm pack` is most of it); the deadlines are
 * generous because a loaded machine makes tsup's declaration build several times slower.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./consumer/', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const env = {
  ...process.env,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  CK_PREFIX: randomName('pack'),
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

let work: string;
let consumer: string;
let packed: string[];

function run(command: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout });
}

function expectOk(result: SpawnSyncReturns<string>, what: string): void {
  if (result.status !== 0) {
    throw new Error(
      `${what} failed (exit ${result.status}, ${result.error?.message ?? ''}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'clusterkit-pack-'));
  // A clean checkout: the files git tracks (plus new, not-ignored ones), no dist/, the repo's node_modules.
  const checkout = join(work, 'checkout');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && !f.startsWith('integrations/') && !f.startsWith('bench/results/') && existsSync(join(ROOT, f)));
  for (const file of files) {
    mkdirSync(dirname(join(checkout, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(checkout, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  expect(existsSync(join(checkout, 'dist'))).toBe(false);

  const pack = run('npm', ['pack', '--json', '--pack-destination', work], checkout, 420_000);
  expectOk(pack, 'npm pack');
  // The prepack build may log to stdout too (tsup's lines can start with "["): npm's JSON report is
  // the array that opens on a line of its own.
  const report = pack.stdout.search(/^\[\s*$/m);
  expect(report, `npm pack printed no JSON report:\n${pack.stdout}`).toBeGreaterThanOrEqual(0);
  const info = JSON.parse(pack.stdout.slice(report)) as [{ filename: string; files: { path: string }[] }];
  packed = info[0].files.map((f) => f.path);
  const tarball = join(work, info[0].filename);

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  cpSync(FIXTURES, consumer, { recursive: true });
  copyFileSync(join(consumer, 'consumer.ts'), join(consumer, 'consumer.mts'));
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', tarball, '@types/node@20'],
    consumer,
    300_000,
  );
  expectOk(install, 'npm install of the tarball');
}, 780_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', { timeout: 150_000 }, () => {
  it('ships the build, types, bin, README, CHANGELOG and LICENSE — and no sources or tests', () => {
    for (const entry of ['index', 'adapter-kit', 'redis', 'rabbitmq', 'postgres', 'nocobase', 'ops']) {
      expect(packed).toContain(`dist/${entry}.js`);
      expect(packed).toContain(`dist/${entry}.cjs`);
      expect(packed).toContain(`dist/${entry}.d.ts`);
      expect(packed).toContain(`dist/${entry}.d.cts`);
    }
    for (const file of ['dist/cli.js', 'README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']) {
      expect(packed).toContain(file);
    }
    expect(packed.filter((p) => /^(src|test|adapters|demo|bench)\//.test(p))).toEqual([]);
  });

  it('runs as ESM: memory and Redis round trips, the other adapter factories and clusterkit/ops load', () => {
    const result = run(process.execPath, ['esm.mjs'], consumer);
    expectOk(result, 'esm.mjs');
    expect(result.stdout).toContain('esm ok');
  });

  it('runs as CommonJS: a RabbitMQ broadcast between two nodes, ClusterError from require()', () => {
    const result = run(process.execPath, ['cjs.cjs'], consumer);
    expectOk(result, 'cjs.cjs');
    expect(result.stdout).toContain('cjs ok');
  });

  it('an ESM host with a CommonJS plugin shares the tenant context and the ClusterError brand', () => {
    const result = run(process.execPath, ['host.mjs'], consumer);
    expectOk(result, 'host.mjs');
    expect(result.stdout).toContain('dual ok');
  });

  it.each([
    ['ESM', 'kit.mjs', 'esm'],
    ['CommonJS', 'kit.cjs', 'cjs'],
  ])(
    'clusterkit/adapter-kit loads as %s: the internals, one ClusterError class across entries, shared state',
    (_format, file, label) => {
      const result = run(process.execPath, [file], consumer);
      expectOk(result, file);
      expect(result.stdout).toContain(`adapter-kit ${label} ok`);
    },
  );

  it('holds the core once per format: only clusterkit/adapter-kit defines ClusterError and the helpers', () => {
    const dist = join(consumer, 'node_modules/clusterkit/dist');
    const definers = (pattern: RegExp) =>
      readdirSync(dist)
        .filter((file) => /\.c?js$/.test(file) && pattern.test(readFileSync(join(dist, file), 'utf8')))
        .sort();
    for (const pattern of [
      /ClusterError = class extends Error|class ClusterError extends Error/,
      /function assertName\(/,
      /function runWithTenant\(/,
    ]) {
      expect(definers(pattern), String(pattern)).toEqual(['adapter-kit.cjs', 'adapter-kit.js']);
    }
  });

  it('installs the clusterkit bin', () => {
    const result = run(join(consumer, 'node_modules/.bin/clusterkit'), ['--help'], consumer);
    expectOk(result, 'clusterkit --help');
    expect(result.stdout).toMatch(/Usage: clusterkit/);
    expect(result.stdout).toMatch(/worker/);
  });

  it.each([
    ['node10', 'commonjs', 'consumer.ts'],
    ['node16', 'node16', 'consumer.ts'],
    ['node16', 'node16', 'consumer.mts'],
    ['bundler', 'esnext', 'consumer.ts'],
  ])('typechecks a strict consumer under moduleResolution %s (module %s, %s)', (resolution, module, file) => {
    const result = run(
      process.execPath,
      [
        TSC,
        '--noEmit',
        '--strict',
        '--target',
        'es2022',
        '--module',
        module,
        '--moduleResolution',
        resolution,
        '--esModuleInterop',
        '--skipLibCheck',
        '--types',
        'node',
        file,
      ],
      consumer,
    );
    expectOk(result, `tsc (${resolution}, ${file})`);
  });
});
