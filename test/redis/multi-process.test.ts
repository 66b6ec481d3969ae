/**
 * Three OS processes (child processes, each one clusterkit node with its own connections) share
 * one Redis: 1,000 queue messages are each handled exactly once when handlers succeed, the lock
 * keeps them mutually exclusive, and pub/sub reaches every one of them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, silentLogger, type App } from 'clusterkit';
import { createRedisAdapters } from 'clusterkit/redis';
import { deferred, randomName, within } from '../helpers.js';
import { deletePrefix, resolveRedisUrl } from '../conformance/redis-factory.js';

const CHILD = fileURLToPath(new URL('./child-node.ts', import.meta.url));
const MESSAGES = 1_000;
const LOCK_ROUNDS = 30;
const target = await resolveRedisUrl();

/** A child node and everything it reported. */
interface Child {
  proc: ChildProcess;
  handled: number[];
  news: unknown[];
  lockDone: Promise<number>;
  ready: Promise<void>;
}

function startChild(url: string, prefix: string, appName: string): Child {
  const ready = deferred();
  const lockDone = deferred<number>();
  const proc = fork(CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, REDIS_URL: url, CK_PREFIX: prefix, CK_APP: appName, CK_MODE: 'multi' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child: Child = { proc, handled: [], news: [], lockDone: lockDone.promise, ready: ready.promise };
  proc.on('message', (m: { type: string; id?: number; message?: unknown; overlaps?: number }) => {
    if (m.type === 'ready') ready.resolve();
    else if (m.type === 'handled') child.handled.push(m.id!);
    else if (m.type === 'news') child.news.push(m.message);
    else if (m.type === 'lock-done') lockDone.resolve(m.overlaps!);
    else if (m.type === 'error') lockDone.reject(new Error(String(m.message)));
  });
  proc.on('exit', (code) => ready.reject(new Error(`child exited early with ${code}`)));
  return child;
}

async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => child.proc.once('exit', resolve));
  child.proc.send({ type: 'stop' });
  await within(exited, 15_000, 'child exit').catch(() => child.proc.kill('SIGKILL'));
}

describe.skipIf('skip' in target)(
  `redis: three processes sharing one Redis${'skip' in target ? ` (skipped: ${target.skip})` : ''}`,
  () => {
    const url = 'url' in target ? target.url : '';
    const prefix = randomName('ckt');
    const appName = randomName('mp');
    let children: Child[] = [];
    let producer: App;

    beforeAll(async () => {
      children = [0, 1, 2].map(() => startChild(url, prefix, appName));
      producer = createApp({
        name: appName,
        logger: silentLogger,
        adapters: createRedisAdapters({ url, prefix, onError: () => {} }),
      });
      await producer.start();
      await within(Promise.all(children.map((c) => c.ready)), 30_000, 'children ready');
    }, 60_000);

    afterAll(async () => {
      await Promise.allSettled(children.map((c) => stopChild(c)));
      await producer?.stop();
      const client = new Redis(url);
      await deletePrefix(client, prefix);
      await client.quit();
      await ('stop' in target ? target.stop?.() : undefined);
    });

    it('handles each of 1,000 messages exactly once across the processes', async () => {
      for (let id = 0; id < MESSAGES; id += 1) await producer.eventQueue.publish('jobs', { id });
      const total = () => children.reduce((n, c) => n + c.handled.length, 0);
      await vi.waitFor(() => expect(total()).toBeGreaterThanOrEqual(MESSAGES), { timeout: 60_000, interval: 20 });
      const all = children.flatMap((c) => c.handled).sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
      // Competing consumers: more than one process did some of the work.
      expect(children.filter((c) => c.handled.length > 0).length).toBeGreaterThan(1);
    }, 90_000);

    it('keeps lock holders in different processes mutually exclusive', async () => {
      for (const child of children) child.proc.send({ type: 'lock', rounds: LOCK_ROUNDS });
      const overlaps = await within(Promise.all(children.map((c) => c.lockDone)), 60_000, 'lock rounds');
      expect(overlaps).toEqual([0, 0, 0]);
      const client = new Redis(url);
      try {
        // No lost update in the read-modify-write: every round ran alone.
        expect(Number(await client.get(`${prefix}:test:total`))).toBe(3 * LOCK_ROUNDS);
      } finally {
        await client.quit();
      }
    }, 90_000);

    it('fans a pub/sub message out to every process', async () => {
      await producer.pubSubManager.publish('news', { headline: 'hello' });
      await vi.waitFor(() => expect(children.every((c) => c.news.length > 0)).toBe(true), {
        timeout: 10_000,
        interval: 20,
      });
      for (const child of children) expect(child.news).toEqual([{ headline: 'hello' }]);
    });
  },
);
