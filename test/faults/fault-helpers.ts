/**
 * Shared machinery of the fault suite: private `redis-server` processes (optionally with an
 * append-only file, so a restart keeps what was acknowledged), worker child processes that talk
 * over IPC, a Redis ledger that survives the workers it counts, broker reachability checks that
 * fail loudly under `CI=true`, and the `[figure]` lines the docs quote.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deferred, within } from '../helpers.js';
import { portFree, RedisServer, waitUntil } from '../redis/redis-servers.js';

/** The shared Redis of the machine (ledgers, key counts). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The shared PostgreSQL (never stopped by this suite; cases work in schemas of their own). */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The shared RabbitMQ broker (never stopped by this suite). */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Prints a measured figure in a greppable form (`[figure] case: name = value`); docs/guarantees.md quotes them. */
export function figure(testCase: string, name: string, value: unknown): void {
  console.info(`[figure] ${testCase}: ${name} = ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/** True when `redis-server` is on the PATH; under `CI=true` its absence is an error, not a skip. */
export function haveRedisServer(): boolean {
  const ok = spawnSync('redis-server', ['--version']).status === 0;
  if (!ok && process.env.CI === 'true') throw new Error('redis-server not found (CI=true: refusing to skip)');
  return ok;
}

/** A free loopback port. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (await portFree(port)) return port;
  }
}

/** Re-exported for the fault tests: the one deadline poller of the test suite. */
export { waitUntil };

/** A private redis-server in its own temp dir; `appendonly` (fsync always) keeps acknowledged writes across a kill. */
export class PrivateRedis extends RedisServer {
  private constructor(port: number, appendonly: boolean) {
    super(port, { appendonly, dirPrefix: 'ck-faults-redis-', startTimeoutMs: 15_000 });
  }

  /** Starts one on a free port. */
  static async start(options: { appendonly?: boolean } = {}): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort(), options.appendonly ?? false);
    await server.start();
    return server;
  }

  /** SIGKILL (an outage, not a shutdown) and wait for the exit. */
  kill(): Promise<void> {
    return this.stop();
  }
}

/** A message a worker process sends over IPC. */
export type WorkerMessage = { type: string; [key: string]: unknown };

/** A worker child process (`node --import tsx test/faults/workers/<script>`), IPC-connected. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<(m: WorkerMessage) => void>();
  private stderr = '';

  constructor(script: string, env: Record<string, string>, execArgv: string[] = []) {
    const file = fileURLToPath(new URL(`./workers/${script}`, import.meta.url));
    this.child = spawn(process.execPath, [...execArgv, '--import', 'tsx', file], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    const exit = deferred<{ code: number | null; signal: NodeJS.Signals | null }>();
    this.child.on('exit', (code, signal) => exit.resolve({ code, signal }));
    this.exited = exit.promise;
    this.child.on('message', (m: WorkerMessage) => {
      this.messages.push(m);
      for (const listener of [...this.listeners]) listener(m);
    });
  }

  /** Resolves with the first message (already received or future) that `test` accepts. */
  next(test: (m: WorkerMessage) => boolean, what: string, ms = 60_000): Promise<WorkerMessage> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    const d = deferred<WorkerMessage>();
    const listener = (m: WorkerMessage) => {
      if (test(m)) d.resolve(m);
    };
    this.listeners.add(listener);
    const failed = this.exited.then(({ code, signal }) => {
      throw new Error(`worker exited (${code ?? signal}) before: ${what}\n${this.stderr}`);
    });
    return within(Promise.race([d.promise, failed]), ms, what).finally(() => this.listeners.delete(listener));
  }

  /** Calls `listener` on every future message. */
  on(listener: (m: WorkerMessage) => void): void {
    this.listeners.add(listener);
  }

  send(message: WorkerMessage): void {
    this.child.send(message);
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** What the process wrote to stderr (the last 20 kB). */
  get errorOutput(): string {
    return this.stderr;
  }
}

/** A Redis client for test bookkeeping that does not give up while a private server is down. */
export function bookkeepingClient(url = REDIS_URL): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  return client;
}

/** Keys under `prefix` (SCAN, never KEYS). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out.sort();
}

/** Deletes every key under `prefix` (SCAN + UNLINK). */
export async function deleteUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.unlink(...keys.slice(i, i + 500));
}

/** Counts of a ledger hash (`field` = job number, value = times handled). */
export async function readLedger(client: Redis, key: string): Promise<Map<string, number>> {
  const raw = await client.hgetall(key);
  return new Map(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}

/** Summary of a ledger against the expected job numbers 0..total-1. */
export function ledgerSummary(
  ledger: Map<string, number>,
  total: number,
): { missing: number[]; duplicates: number; handled: number } {
  const missing: number[] = [];
  let duplicates = 0;
  let handled = 0;
  for (let n = 0; n < total; n += 1) {
    const times = ledger.get(String(n)) ?? 0;
    if (times === 0) missing.push(n);
    else duplicates += times - 1;
    handled += times;
  }
  return { missing, duplicates, handled };
}
