/**
 * Loads clusterkit for the bench. By default the COMMITTED library (git HEAD) is built first with
 * tsup/esbuild, like `npm run build` (no `keepNames` helpers, one bundle), so the figures belong to a
 * commit and are those of the code a user runs — and a file another engineer is editing cannot break
 * the run. `--worktree` builds the working tree instead (HEAD falls back to it if HEAD does not
 * build); `--source` runs the TypeScript sources through tsx (tsx wraps every closure in a `__name()`
 * call, a few percent of CPU on hot paths). Raw libraries are always the installed packages.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The three entry points of the package. */
export interface ClusterkitModules {
  readonly core: typeof import('clusterkit');
  readonly redis: typeof import('clusterkit/redis');
  readonly rabbitmq: typeof import('clusterkit/rabbitmq');
  readonly postgres: typeof import('clusterkit/postgres');
}

/** Where clusterkit's code comes from. */
export type ClusterkitSource = 'head' | 'worktree' | 'source';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
// Under bench/results/, which lint and git ignore; node resolves the bundle's imports from the repo.
const OUT_DIR = path.join(ROOT, 'bench', 'results', '.build');
const ENTRY = `export * as core from 'clusterkit';
export * as redis from 'clusterkit/redis';
export * as rabbitmq from 'clusterkit/rabbitmq';
export * as postgres from 'clusterkit/postgres';
`;
let modules: Promise<ClusterkitModules> | undefined;
/** The bundle being measured (undefined when running the TypeScript sources). */
let bundleFile: string | undefined;

/**
 * What a child process (a worker of the scale-out case) must import to run the same clusterkit as
 * this process: the bundle's file URL, or undefined for the sources (the child then runs under tsx).
 */
export function clusterkitBundleUrl(): string | undefined {
  return bundleFile === undefined ? undefined : pathToFileURL(bundleFile).href;
}

/** Bundles the tree rooted at `tree` (its tsconfig maps `clusterkit*` to its sources). */
async function bundle(tree: string, entry: string, outDir = OUT_DIR): Promise<string> {
  const { build } = await import('tsup');
  await build({
    entry: { clusterkit: entry },
    outDir,
    format: ['esm'],
    target: 'node20',
    splitting: false,
    sourcemap: true,
    dts: false,
    clean: true,
    silent: true,
    config: false,
    tsconfig: path.join(tree, 'tsconfig.json'),
  });
  return path.join(outDir, 'clusterkit.js');
}

/** Extracts a commit's library sources to a temporary directory (outside the repo: no tool globs it). */
function extractHead(ref = 'HEAD'): { tree: string; commit: string } {
  const commit = execSync(`git rev-parse --short ${ref}`, { cwd: ROOT, encoding: 'utf8' }).trim();
  const tree = path.join(os.tmpdir(), `ckbench-head-${commit}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  execSync(`git archive ${commit} src adapters tsconfig.json | tar -x -C ${JSON.stringify(tree)}`, { cwd: ROOT });
  writeFileSync(path.join(tree, 'bench-entry.ts'), ENTRY);
  return { tree, commit };
}

/**
 * Builds a bench bundle (`{ core, redis, rabbitmq, postgres }`) of commit `ref` — or of the working
 * tree when `ref` is `worktree` — under `bench/results/.ab/<name>/` (inside the repository, so its
 * imports resolve), for the A/B tools' `CK_OLD`/`CK_NEW`. Returns the bundle's path.
 */
export async function bundleCommit(ref: string, name: string): Promise<string> {
  const outDir = path.join(ROOT, 'bench', 'results', '.ab', name);
  if (ref === 'worktree') return bundle(ROOT, path.resolve(import.meta.dirname, 'clusterkit-entry.ts'), outDir);
  const { tree } = extractHead(ref);
  return bundle(tree, path.join(tree, 'bench-entry.ts'), outDir);
}

async function importBundle(file: string): Promise<ClusterkitModules> {
  bundleFile = file;
  return (await import(`${pathToFileURL(file).href}?t=${Date.now()}`)) as ClusterkitModules;
}

/**
 * Builds (or, for `source`, imports) clusterkit now, so a problem shows at the start of the run.
 * Returns a description of what is measured, for the results.
 */
export async function prepareClusterkit(source: ClusterkitSource): Promise<string> {
  if (source === 'source') {
    modules = (async () => ({
      core: await import('clusterkit'),
      redis: await import('clusterkit/redis'),
      rabbitmq: await import('clusterkit/rabbitmq'),
      postgres: await import('clusterkit/postgres'),
    }))();
    await modules;
    return 'TypeScript sources of the working tree through tsx';
  }
  let headError: string | undefined;
  if (source === 'head') {
    try {
      const { tree, commit } = extractHead();
      const file = await bundle(tree, path.join(tree, 'bench-entry.ts'));
      modules = importBundle(file);
      await modules;
      return `tsup build of commit ${commit}`;
    } catch (error) {
      headError = (error as Error).message.split('\n')[0];
    }
  }
  const file = await bundle(ROOT, path.resolve(import.meta.dirname, 'clusterkit-entry.ts'));
  modules = importBundle(file);
  await modules;
  return headError
    ? `tsup build of the working tree (HEAD did not build: ${headError})`
    : 'tsup build of the working tree';
}

/** The clusterkit modules prepared by {@link prepareClusterkit} (the working tree's sources if it was not called). */
export function loadClusterkit(): Promise<ClusterkitModules> {
  modules ??= (async () => ({
    core: await import('clusterkit'),
    redis: await import('clusterkit/redis'),
    rabbitmq: await import('clusterkit/rabbitmq'),
    postgres: await import('clusterkit/postgres'),
  }))();
  return modules;
}
