/**
 * Three NocoBase nodes in three OS processes, one killed with SIGKILL while it handles a message:
 * the message runs again on another node (at-least-once), and the killed node's worker id, which it
 * never released, is free again once its lease has run out.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createApp, LockAcquireError, silentLogger } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cleanBrokers } from './broker-state.js';
import { useDatabase, randomName, REDIS_URL } from './services.js';

const CHILD = fileURLToPath(new URL('./child-node.ts', import.meta.url));
const HERE = fileURLToPath(new URL('..', import.meta.url));
const LEASE_MS = 2_000;
const DEADLINE = { timeout: 45_000, interval: 50 };

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly events: Record<string, unknown>[];
  readonly ready: Promise<{ workerId: number }>;
}

function startChild(name: string, env: Record<string, string>): Child {
  const proc = fork(CHILD, [], {
    cwd: HERE,
    execArgv: ['--import', 'tsx', '--import', './test/resolve-nocobase.mjs'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const events: Record<string, unknown>[] = [];
  const ready = new Promise<{ workerId: number }>((resolve, reject) => {
    proc.on('message', (message: Record<string, unknown>) => {
      events.push(message);
      if (message.type === 'ready') resolve(message as never);
    });
    proc.on('exit', (code) => reject(new Error(`${name} exited early (${code})`)));
  });
  return { name, proc, events, ready };
}

async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.send({ type: 'stop' });
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

for (const backend of ['redis', 'rabbitmq'] as const) {
  describe(`three NocoBase processes, one SIGKILLed [${backend}]`, () => {
    const db = useDatabase();
    const prefix = randomName('ckn');
    let children: Child[] = [];
    afterEach(async () => {
      await Promise.allSettled(children.map(stopChild));
      children = [];
    });
    afterAll(async () => {
      await cleanBrokers(prefix, backend === 'rabbitmq');
    });

    it("the killed node's in-flight message runs again elsewhere; its worker id is free after its lease", async () => {
      const env = {
        CK_DB: db().name,
        CK_PREFIX: prefix,
        CK_CLUSTER: prefix,
        CK_BACKEND: backend,
        CK_LEASE_MS: String(LEASE_MS),
      };
      // One at a time: three NocoBase imports at once would starve the 2-core machine.
      for (const name of ['A', 'B', 'C']) {
        const child = startChild(name, env);
        children.push(child);
        await child.ready;
      }
      const ids = await Promise.all(children.map(async (child) => (await child.ready).workerId));
      expect(new Set(ids).size).toBe(3);

      children[0]!.proc.send({ type: 'publish', message: { n: 1, hang: true } });
      let victim: Child | undefined;
      await vi.waitFor(() => {
        victim = children.find((child) => child.events.some((e) => e.type === 'taken' && e.n === 1));
        expect(victim).toBeDefined();
      }, DEADLINE);
      const survivors = children.filter((child) => child !== victim);
      for (const child of survivors) child.proc.send({ type: 'no-hang' });
      const victimId = (await victim!.ready).workerId;
      victim!.proc.kill('SIGKILL');
      await new Promise((resolve) => victim!.proc.once('exit', resolve));

      // Runs again, to completion, on a survivor.
      await vi.waitFor(() => {
        expect(survivors.some((child) => child.events.some((e) => e.type === 'done' && e.n === 1))).toBe(true);
      }, DEADLINE);

      // Its worker id: still leased right after the kill is possible, but free once the lease ran out.
      const probe = createApp({
        name: prefix,
        logger: silentLogger,
        adapters: createRedisAdapters({ url: REDIS_URL, prefix, onError: () => {} }),
      });
      await probe.start();
      try {
        await vi.waitFor(
          async () => {
            const lease = await probe.lockManager.tryAcquire(`worker-id:main:${victimId}`, 10_000);
            await lease.release();
          },
          { timeout: LEASE_MS * 5, interval: 100 },
        );
        // The survivors' ids stay leased (renewed by their live nodes).
        for (const child of survivors) {
          const { workerId } = await child.ready;
          await expect(probe.lockManager.tryAcquire(`worker-id:main:${workerId}`)).rejects.toBeInstanceOf(
            LockAcquireError,
          );
        }
      } finally {
        await probe.stop();
      }
    });
  });
}
