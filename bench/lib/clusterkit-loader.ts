/**
 * Loads clusterkit for the bench. By default it is built first (tsup/esbuild, like `npm run build`:
 * no `keepNames` helpers, one bundle) into `bench/results/.build/`, so the figures are those of the code a
 * user runs; `--source` runs the TypeScript sources through tsx instead (tsx wraps every closure in
 * a `__name()` call, a few percent of CPU on the hot paths). Raw libraries are always the installed
 * packages.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The three entry points of the package. */
export interface ClusterkitModules {
  readonly core: typeof import('clusterkit');
  readonly redis: typeof import('clusterkit/redis');
  readonly rabbitmq: typeof import('clusterkit/rabbitmq');
}

/** Where clusterkit's code comes from. */
export type ClusterkitSource = 'build' | 'source';

// Under bench/results/, which lint and git ignore.
const OUT_DIR = path.resolve(import.meta.dirname, '..', 'results', '.build');
let mode: ClusterkitSource = 'build';
let loading: Promise<ClusterkitModules> | undefined;

async function buildBundle(): Promise<string> {
  const { build } = await import('tsup');
  await build({
    entry: { clusterkit: path.resolve(import.meta.dirname, 'clusterkit-entry.ts') },
    outDir: OUT_DIR,
    format: ['esm'],
    target: 'node20',
    splitting: false,
    sourcemap: true,
    dts: false,
    clean: true,
    silent: true,
    config: false,
    tsconfig: path.resolve(import.meta.dirname, '..', '..', 'tsconfig.json'),
  });
  return path.join(OUT_DIR, 'clusterkit.js');
}

/**
 * Chooses where clusterkit comes from and, for `build`, builds it now (so a build error shows at
 * the start of the run). Returns a description for the results.
 */
export async function prepareClusterkit(source: ClusterkitSource): Promise<string> {
  mode = source;
  loading = undefined;
  await loadClusterkit();
  return source === 'build' ? 'built bundle (tsup, bench/results/.build)' : 'TypeScript sources through tsx';
}

/** The clusterkit modules, loaded once. */
export function loadClusterkit(): Promise<ClusterkitModules> {
  loading ??= (async (): Promise<ClusterkitModules> => {
    if (mode === 'source') {
      return {
        core: await import('clusterkit'),
        redis: await import('clusterkit/redis'),
        rabbitmq: await import('clusterkit/rabbitmq'),
      };
    }
    const file = await buildBundle();
    return (await import(pathToFileURL(file).href)) as ClusterkitModules;
  })();
  return loading;
}
