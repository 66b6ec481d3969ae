/**
 * RabbitMQ with nodes in separate OS processes (`node --import tsx test/rabbitmq/worker-process.ts`):
 * a node SIGKILLed in the middle of a message has it redelivered to another node without spending
 * an attempt, and three worker processes share a queue (every message handled exactly once when
 * handlers succeed) and all hear a pub/sub broadcast.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestCluster } from '../conformance/cluster.js';
import { rabbitmqFactory, rabbitPrefix, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { deferred, randomName, within } from '../helpers.js';
import { startWorker, type WorkerProcess } from './broker.js';

const target = await resolveAmqpUrl();
const DEADLINE_MS = 30_000;

if ('skip' in target) {
  describe.skip(`rabbitmq multi-process (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  const url = target.url;
  describe('rabbitmq multi-process', () => {
    let cluster: TestCluster | undefined;
    const workers: WorkerProcess[] = [];
    afterEach(async () => {
      for (const w of workers.splice(0)) {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await w.exited;
      }
      await cluster?.dispose();
      cluster = undefined;
    });

    function spawnWorker(channel: string, mode: 'work' | 'hang', pubsub?: string): WorkerProcess {
      const worker = startWorker({
        AMQP_URL: url,
        CK_PREFIX: rabbitPrefix(cluster!.name),
        CK_APP: cluster!.name,
        CK_CHANNEL: channel,
        CK_MODE: mode,
        ...(pubsub ? { CK_PUBSUB: pubsub } : {}),
      });
      workers.push(worker);
      return worker;
    }

    it('redelivers the message of a SIGKILLed node to another node, without spending an attempt', async () => {
      cluster = rabbitmqFactory('rabbitmq', () => url).create();
      const channel = randomName('q');
      const doomed = spawnWorker(channel, 'hang');
      await doomed.line((l) => l === 'READY', 'worker ready');
      const publisher = cluster.node();
      await publisher.start();
      const { id } = await publisher.eventQueue.publish(channel, { precious: true }, { maxRetries: 0 });
      await doomed.line((l) => l.startsWith('RUNNING'), 'worker running the message');
      doomed.child.kill('SIGKILL');
      expect(await within(doomed.exited, DEADLINE_MS, 'worker killed')).toBeNull();

      const got = deferred<[unknown, string, number]>();
      await publisher.eventQueue.subscribe(channel, { process: (m, ctx) => got.resolve([m, ctx.id, ctx.retried]) });
      // Same id, attempt still 0 (a crash is not a failed attempt; maxRetries: 0 would dead-letter otherwise).
      expect(await within(got.promise, DEADLINE_MS, 'redelivered to the surviving node')).toEqual([
        { precious: true },
        id,
        0,
      ]);
    });

    it('three worker processes handle every message exactly once and all hear a broadcast', async () => {
      cluster = rabbitmqFactory('rabbitmq', () => url).create();
      const channel = randomName('q');
      const news = randomName('news');
      const trio = [
        spawnWorker(channel, 'work', news),
        spawnWorker(channel, 'work', news),
        spawnWorker(channel, 'work', news),
      ];
      await Promise.all(trio.map((w) => w.line((l) => l === 'READY', 'worker ready')));
      const publisher = cluster.node();
      await publisher.start();

      const total = 300;
      const t0 = Date.now();
      for (let n = 0; n < total; n++) await publisher.eventQueue.publish(channel, n);
      const handledLines = () => trio.flatMap((w) => w.lines.filter((l) => l.startsWith('HANDLED ')));
      await vi.waitFor(() => expect(handledLines().length).toBeGreaterThanOrEqual(total), {
        timeout: DEADLINE_MS,
        interval: 50,
      });
      const elapsed = Date.now() - t0;

      await publisher.pubSubManager.publish(news, { hello: 'everyone' });
      await Promise.all(trio.map((w) => w.line((l) => l === 'HEARD {"hello":"everyone"}', 'broadcast heard')));

      // Stop gracefully (acks flushed), then count: a duplicate would have printed by now.
      for (const w of trio) w.child.kill('SIGTERM');
      await Promise.all(trio.map((w) => w.line((l) => l === 'STOPPED', 'worker stopped')));
      const seen = handledLines().map((l) => Number(l.slice('HANDLED '.length)));
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
      const share = trio.map((w) => w.lines.filter((l) => l.startsWith('HANDLED ')).length);
      expect(share.every((n) => n > 0)).toBe(true);
      expect(await publisher.eventQueue.counts(channel)).toMatchObject({ waiting: 0, delayed: 0, dead: 0 });
      console.info(
        `[rabbitmq processes] ${total} messages over 3 processes in ${elapsed} ms (publish + handle), split ${share.join('/')}`,
      );
    });
  });
}
