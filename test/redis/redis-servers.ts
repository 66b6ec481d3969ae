/**
 * Private `redis-server` processes for tests that need to stop Redis or run a Redis Cluster (here and in
 * the fault suite): free loopback ports, a temp dir each, no persistence unless asked for, and everything
 * stopped and deleted after.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** True when `redis-server` and `redis-cli` are on the PATH. */
export function haveRedisBinaries(): boolean {
  return ['redis-server', 'redis-cli'].every((bin) => spawnSync(bin, ['--version']).status === 0);
}

/** True when nothing listens on loopback `port` (it binds the port for a moment to find out). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port whose cluster-bus twin (port + 10000) is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
}

/** Polls `check` until it resolves true, or throws after `ms` (a deadline, for conditions no event announces). */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

/** How a {@link RedisServer} is run. */
export interface RedisServerOptions {
  /** An append-only file with `appendfsync always`, so a restart keeps every acknowledged write. @default false */
  appendonly?: boolean;
  /** More `redis-server` arguments, after the defaults. @default [] */
  extraArgs?: string[];
  /** Prefix of the temp dir the server runs in. @default 'ck-redis-' */
  dirPrefix?: string;
  /** How long `start()` waits for PING, in milliseconds. @default 10_000 */
  startTimeoutMs?: number;
}

/** One private redis-server in its own temp dir that can be stopped and started again on the same port. */
export class RedisServer {
  private child?: ChildProcess;
  readonly dir: string;
  private readonly options: RedisServerOptions;

  constructor(
    readonly port: number,
    options: RedisServerOptions = {},
  ) {
    this.options = options;
    this.dir = mkdtempSync(join(tmpdir(), options.dirPrefix ?? 'ck-redis-'));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and dir (an AOF is replayed) and waits until it answers PING. */
  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', ''];
    // `always`: a write is in the AOF before Redis replies. With the default `everysec`, Redis
    // postpones the AOF write while an fsync is slow and replies anyway, so a SIGKILL can lose
    // writes it already acknowledged (seen in the fault suite: one published job gone after the restart).
    if (this.options.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    args.push('--dir', this.dir, ...(this.options.extraArgs ?? []));
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    const ms = this.options.startTimeoutMs ?? 10_000;
    await waitUntil(() => ping(this.port), ms, `redis-server on ${this.port} answering`);
  }

  /** Kills the server (SIGKILL: an outage, not a shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the server and deletes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts one private redis-server on a free port. */
export async function startRedisServer(): Promise<RedisServer> {
  const server = new RedisServer(await freePort());
  await server.start();
  return server;
}

/** A running 3-master Redis Cluster on loopback. */
export interface RedisClusterHandle {
  readonly ports: number[];
  stop(): Promise<void>;
}

/**
 * Starts 3 `redis-server --cluster-enabled yes`, joins them with `redis-cli --cluster create
 * --cluster-replicas 0 --cluster-yes`, and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i += 1) {
      const server = new RedisServer(await freePort(), {
        extraArgs: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'],
      });
      servers.push(server);
      // nodes.conf lives in the server's own dir, so concurrent clusters never share one.
      await server.start();
    }
    const hosts = servers.map((s) => `127.0.0.1:${s.port}`);
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...hosts, '--cluster-replicas', '0', '--cluster-yes'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    for (const server of servers) {
      await waitUntil(
        async () => {
          const client = new Redis({ port: server.port, lazyConnect: true, retryStrategy: () => null });
          client.on('error', () => {});
          try {
            await client.connect();
            return (await client.cluster('INFO')).includes('cluster_state:ok');
          } finally {
            client.disconnect();
          }
        },
        30_000,
        `cluster_state:ok on ${server.port}`,
      );
    }
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.destroy()));
    throw error;
  }
  return {
    ports: servers.map((s) => s.port),
    stop: async () => {
      await Promise.allSettled(servers.map((s) => s.destroy()));
    },
  };
}
