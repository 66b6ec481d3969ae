/**
 * Broker-side helpers for the RabbitMQ recovery tests: close one test cluster's connections from
 * the broker (`rabbitmqctl close_connection`, selected by connection name so concurrently running
 * test files keep theirs), talk to the broker with a raw amqplib client, and run child processes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { deferred, within } from '../helpers.js';

const run = promisify(execFile);

/** Runs `rabbitmqctl` with `args`; resolves with stdout. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60_000 });
  return stdout;
}

/** Broker pids of the connections whose client-provided name is `name`. */
export async function connectionPids(name: string): Promise<string[]> {
  const out = await rabbitmqctl('list_connections', 'pid', 'client_properties', '--quiet');
  return out
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'));
}

/**
 * Has the broker force-close every connection named `name` (what `close_all_connections` does,
 * scoped to one test cluster). Resolves with how many it closed.
 */
export async function closeConnections(name: string, reason = 'test'): Promise<number> {
  const pids = await connectionPids(name);
  await Promise.all(pids.map((pid) => rabbitmqctl('close_connection', pid, reason)));
  return pids.length;
}

/** Does queue `name` exist on the broker? (A passive declare on a throwaway connection.) */
export async function queueExists(url: string, name: string): Promise<boolean> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.checkQueue(name);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return false;
    throw error;
  } finally {
    await connection.close().catch(() => {});
  }
}

/** A raw amqplib connection + channel, as a foreign producer would have. */
export async function rawClient(
  url: string,
): Promise<{ connection: ChannelModel; channel: ConfirmChannel; close(): Promise<void> }> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  const channel = await connection.createConfirmChannel();
  return {
    connection,
    channel,
    close: async () => {
      await connection.close().catch(() => {});
    },
  };
}

/** A child process running `test/rabbitmq/worker-process.ts`, with its stdout split into lines. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (already seen or future) that `test` accepts. */
  line(test: (line: string) => boolean, what: string, ms?: number): Promise<string>;
  /** Resolves once the process exited. */
  readonly exited: Promise<number | null>;
}

const WORKER = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** Starts `node --import tsx test/rabbitmq/worker-process.ts` with `env`. */
export function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    let index: number;
    while ((index = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = deferred<number | null>();
  child.on('exit', (code) => exit.resolve(code));
  return {
    child,
    lines,
    exited: exit.promise,
    line(test, what, ms = 20_000) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      const d = deferred<string>();
      waiters.push({ test, resolve: d.resolve });
      return within(
        Promise.race([
          d.promise,
          exit.promise.then((code) => {
            throw new Error(`worker exited (${code}) before: ${what}\n${stderr}`);
          }),
        ]),
        ms,
        what,
      );
    },
  };
}
