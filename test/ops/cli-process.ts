/**
 * Runs the `clusterkit` CLI as a real child process (tsx on the sources, so no build is needed),
 * either to completion or as a long-running process whose output lines can be awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deferred, within } from '../helpers.js';

/** The repository root (tsx must run from it to see tsconfig paths). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = `${ROOT}node_modules/.bin/tsx`;
const ENTRY = `${ROOT}src/cli/index.ts`;

/** A finished CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI child: the parent's, minus adapter selections that would leak in, plus `env`. */
export function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
  for (const key of Object.keys(base)) if (key.startsWith('CLUSTERKIT_')) delete base[key];
  return { ...base, ...env };
}

/** Runs `clusterkit <args>` to completion (deadline `timeoutMs`). */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 30_000,
): Promise<CliResult> {
  const child = spawn(TSX, [ENTRY, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  try {
    return await within(done, timeoutMs, `clusterkit ${args.join(' ')}`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** Runs `clusterkit <args>` expecting exit 0 and JSON on stdout. */
export async function runCliJson<T = any>(args: string[], env: Record<string, string | undefined> = {}): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  if (result.code !== 0) throw new Error(`clusterkit ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A long-running CLI process (worker, dashboard). */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  readonly stderr: () => string;
  /** Resolves with the first stdout line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Resolves with the exit code once the process exits on its own (no signal sent). */
  exited(timeoutMs?: number): Promise<number | null>;
}

/** Starts `clusterkit <args>` and returns a handle to watch its output. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  const child = spawn(TSX, [ENTRY, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  child.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters) {
        if (w.pattern.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = deferred<number | null>();
  child.once('close', (code) => exited.resolve(code));
  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLine(pattern, timeoutMs = 30_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      const d = deferred<string>();
      waiters.add({ pattern, resolve: d.resolve });
      const failEarly = exited.promise.then(() => {
        throw new Error(
          `clusterkit exited before printing ${pattern}; stderr:\n${stderr}\nstdout:\n${lines.join('\n')}`,
        );
      });
      return within(Promise.race([d.promise, failEarly]), timeoutMs, `a line matching ${pattern} (stderr: ${stderr})`);
    },
    exited(timeoutMs = 30_000) {
      return within(exited.promise, timeoutMs, 'clusterkit to exit on its own');
    },
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      try {
        return await within(exited.promise, timeoutMs, 'clusterkit to exit');
      } catch (error) {
        child.kill('SIGKILL');
        throw error;
      }
    },
  };
}
