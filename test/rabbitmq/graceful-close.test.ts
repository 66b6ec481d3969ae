/**
 * Closing the event queue while many handlers are still running: the handlers finish after the
 * broker has already dropped the consumer, their acks go out on the closing channel, and
 * `eventQueue.close()` resolves only once the broker has applied them. The next node gets exactly
 * the messages that were never started — none of the finished ones again.
 *
 * This is the RabbitMQ side of the fault suite's graceful-stop case, called on the event queue
 * directly: a quorum queue's broker-side client holds acks back past ~32 unapplied commands, and
 * closing the channel too early dropped them (66 of 100 finished messages ran again).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rabbitmqFactory, rabbitPrefix, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import type { TestCluster } from '../conformance/cluster.js';
import { counter, deferred, randomName, within } from '../helpers.js';
import { queueNames } from 'clusterkit/rabbitmq';
import { rabbitmqctl } from './broker.js';

const target = await resolveAmqpUrl();
const DEADLINE_MS = 30_000;
const IN_FLIGHT = 100;
const TOTAL = 160;

if ('skip' in target) {
  describe.skip(`rabbitmq graceful close (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  describe.each(['quorum', 'classic'] as const)('rabbitmq graceful close (%s queues)', (queueType) => {
    const clusters: TestCluster[] = [];
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map((c) => c.dispose()));
    });

    it(`acks the ${IN_FLIGHT} handlers that finish after the consumer was cancelled, before close() resolves`, async () => {
      const cluster = rabbitmqFactory(`rabbitmq ${queueType}`, () => target.url, { queueType }).create();
      clusters.push(cluster);
      const channel = randomName('close');
      const stopping = cluster.node();
      const gate = deferred();
      const started = counter(IN_FLIGHT);
      const runs = new Map<number, string[]>();
      const record = (n: number, node: string) => runs.set(n, [...(runs.get(n) ?? []), node]);
      await stopping.eventQueue.subscribe<number>(channel, {
        concurrency: IN_FLIGHT,
        async process(n) {
          started.hit();
          await gate.promise;
          record(n, 'stopping');
        },
      });
      await stopping.start();
      for (let n = 0; n < TOTAL; n += 1) await stopping.eventQueue.publish(channel, n);
      await within(started.done, DEADLINE_MS, `${IN_FLIGHT} handlers running`);

      const closed = stopping.eventQueue.close({ gracePeriodMs: 60_000 });
      // Release the handlers only once the broker lists no consumer on the queue: their acks then
      // travel on a channel whose consumer is gone, which is where they used to be lost. (Not
      // \`consumerCount\`: a quorum queue keeps counting a cancelled consumer that holds messages.)
      const queue = queueNames(rabbitPrefix(cluster.name), `${cluster.name}:${channel}`).main;
      await vi.waitFor(
        async () => expect(await rabbitmqctl('list_consumers', '--quiet', 'queue_name')).not.toContain(queue),
        { timeout: DEADLINE_MS, interval: 50 },
      );
      gate.resolve();
      await within(closed, DEADLINE_MS, 'eventQueue.close() after the handlers finished');
      expect(runs.size).toBe(IN_FLIGHT);

      const rest = counter(TOTAL - IN_FLIGHT);
      const next = cluster.node();
      await next.eventQueue.subscribe<number>(channel, {
        concurrency: 16,
        process(n) {
          record(n, 'next');
          rest.hit();
        },
      });
      await next.start();
      await within(rest.done, DEADLINE_MS, 'the never-started messages handled by the next node');
      const repeated = [...runs.entries()].filter(([, nodes]) => nodes.length > 1).map(([n]) => n);
      expect(repeated).toEqual([]);
      expect(runs.size).toBe(TOTAL);
    }, 90_000);
  });
}
