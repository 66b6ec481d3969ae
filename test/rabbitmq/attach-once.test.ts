/**
 * After a reconnect every consumer attaches exactly once: one `basic.consume` per work queue (and
 * one for the pub/sub node queue) on the new connection, counted on the wire by the node's TCP
 * proxy. Attaching twice closed the first new channel under its deliveries, which the broker then
 * requeued and handed out again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { queueNames } from 'clusterkit/rabbitmq';
import { resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { randomName } from '../helpers.js';
import { rabbitSite, type Site } from './proxied-site.js';

const target = await resolveAmqpUrl();
const DEADLINE_MS = 20_000;
/**
 * How long the wire is watched after the node is working again for a late second attach. The
 * duplicate came 250 ms after the reconnect (a re-attach timer); this window is several times that.
 */
const QUIET_WINDOW_MS = 1_500;

if ('skip' in target) {
  describe.skip(`rabbitmq attach once (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  describe('rabbitmq consumers attach once per connection', () => {
    let site: Site | undefined;
    afterEach(async () => {
      await site?.dispose();
      site = undefined;
    });

    it('sends one basic.consume per queue after a forced reconnect (event queue and pub/sub)', async () => {
      site = rabbitSite(target.url);
      const channels = [randomName('a'), randomName('b')];
      const handled = new Map<string, unknown[]>();
      const worker = await site.proxied({ reconnectInitialDelayMs: 50 });
      for (const channel of channels) {
        await worker.app.eventQueue.subscribe(channel, {
          concurrency: 4,
          process: (message) => void handled.set(channel, [...(handled.get(channel) ?? []), message]),
        });
      }
      const heard: unknown[] = [];
      await worker.app.pubSubManager.subscribe('news', (message) => void heard.push(message));
      const publisher = site.direct();
      await Promise.all([worker.app.start(), publisher.app.start()]);

      const consumesSince = (from: number) => {
        const counts = new Map<string, number>();
        for (const m of worker.proxy.methods.slice(from)) {
          if (m.direction !== 'to-broker' || m.name !== 'basic.consume') continue;
          // The pub/sub node queue is renamed per connection: count it under one key.
          const key = m.queue!.includes('.pubsub.node.') ? 'pubsub node queue' : m.queue!;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return Object.fromEntries([...counts].sort());
      };
      const work = channels.map((c) => queueNames(site!.prefix, `${site!.appName}:${c}`).main);
      const managed = queueNames(site.prefix, `${site.appName}:${worker.app.managedQueue.physicalChannel}`).main;
      const once = Object.fromEntries(
        [...work.map((q) => [q, 1] as const), ['pubsub node queue', 1] as const].sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      // Before: one each (the managed-job queue is consumed only once managed jobs are used).
      expect(Object.entries(consumesSince(0)).filter(([q]) => q !== managed)).toEqual(Object.entries(once));

      const from = worker.proxy.methods.length;
      worker.proxy.drop();
      // Working again: both queues deliver, the pub/sub subscription hears.
      for (const channel of channels) {
        const before = handled.get(channel)?.length ?? 0;
        await publisher.app.eventQueue.publish(channel, 'after');
        await vi.waitFor(() => expect(handled.get(channel)?.length ?? 0).toBeGreaterThan(before), {
          timeout: DEADLINE_MS,
          interval: 20,
        });
      }
      await vi.waitFor(
        async () => {
          await publisher.app.pubSubManager.publish('news', 'after');
          expect(heard).toContain('after');
        },
        { timeout: DEADLINE_MS, interval: 100 },
      );
      // A negative assertion needs a window: nothing else attaches in it.
      await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
      const after = consumesSince(from);
      delete after[managed];
      expect(after).toEqual(once);
    });
  });
}
