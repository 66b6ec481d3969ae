/**
 * RabbitMQ recovery: what happens when the broker drops the connections, or cannot be reached for
 * a while. Consumers resume by themselves, pub/sub subscriptions are restored, publishes during an
 * outage wait (bounded by `unavailableTimeoutMs`) or reject with BACKEND_UNAVAILABLE, and nothing
 * whose publish was confirmed is lost.
 *
 * Connections are closed per test cluster (`rabbitmqctl close_connection`, by connection name)
 * rather than with `close_all_connections`, so the other test files sharing the broker keep theirs.
 */
import { ErrorCodes, type App } from 'clusterkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rabbitmqFactory, rabbitPrefix, resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import type { TestCluster } from '../conformance/cluster.js';
import { deferred, randomName, within } from '../helpers.js';
import { closeConnections, rabbitmqctl } from './broker.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const target = await resolveAmqpUrl();
const DEADLINE_MS = 20_000;
const waitOpts = { timeout: DEADLINE_MS, interval: 50 };

if ('skip' in target) {
  describe.skip(`rabbitmq recovery (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  describe('rabbitmq recovery', () => {
    const clusters: TestCluster[] = [];
    let proxy: TcpProxy | undefined;
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map((c) => c.dispose()));
      await proxy?.close();
      proxy = undefined;
    });

    async function started(cluster: TestCluster, n: number): Promise<App[]> {
      const apps = Array.from({ length: n }, () => cluster.node());
      await Promise.all(apps.map((app) => app.start()));
      return apps;
    }

    it('keeps consuming and loses no confirmed publish when the broker closes the connections', async () => {
      const cluster = rabbitmqFactory('rabbitmq', () => target.url).create();
      clusters.push(cluster);
      const [publisher, worker] = await started(cluster, 2);
      const channel = randomName('q');
      const handled = new Map<number, number>();
      await worker!.eventQueue.subscribe<number>(channel, {
        concurrency: 4,
        process(n) {
          handled.set(n, (handled.get(n) ?? 0) + 1);
        },
      });
      const total = 300;
      const confirmed: number[] = [];
      const refused: unknown[] = [];
      const someHandled = deferred();
      const publishing = (async () => {
        for (let n = 0; n < total; n++) {
          if (n === 50) await within(someHandled.promise, DEADLINE_MS, 'first messages handled');
          try {
            await publisher!.eventQueue.publish(channel, n);
            confirmed.push(n);
          } catch (error) {
            refused.push(error);
          }
        }
      })();
      await vi.waitFor(() => expect(handled.size).toBeGreaterThanOrEqual(20), waitOpts);
      someHandled.resolve();
      const outageAt = Date.now();
      // Both nodes' connections, in the middle of publishing and consuming.
      expect(await closeConnections(rabbitPrefix(cluster.name))).toBe(2);
      await within(publishing, DEADLINE_MS, 'publishing finished');
      await vi.waitFor(() => expect(confirmed.filter((n) => !handled.has(n))).toEqual([]), waitOpts);
      const recoveredMs = Date.now() - outageAt;
      // Publishes in the outage waited for the reconnect (well inside the 10 s bound): none refused.
      expect(refused).toEqual([]);
      expect(confirmed).toHaveLength(total);
      // At-least-once: a message in flight at the drop may run twice, never zero times.
      expect([...handled.values()].every((times) => times >= 1)).toBe(true);
      console.info(
        `[rabbitmq recovery] ${total} published across a forced close; all handled ${recoveredMs} ms after the close`,
      );

      // The consumer resumed by itself: fresh work is still taken.
      const after = deferred();
      await worker!.eventQueue.unsubscribe(channel);
      await worker!.eventQueue.subscribe(channel, { process: () => after.resolve() });
      await publisher!.eventQueue.publish(channel, 'after');
      await within(after.promise, DEADLINE_MS, 'message after recovery handled');
    });

    it('restores pub/sub subscriptions after the broker closes the connections', async () => {
      const cluster = rabbitmqFactory('rabbitmq', () => target.url).create();
      clusters.push(cluster);
      const [a, b] = await started(cluster, 2);
      const heard: unknown[] = [];
      const first = deferred();
      const second = deferred();
      await b!.pubSubManager.subscribe('news', (message) => {
        heard.push(message);
        if (message === 'before') first.resolve();
        if (message === 'after') second.resolve();
      });
      await a!.pubSubManager.publish('news', 'before');
      await within(first.promise, DEADLINE_MS, 'message before the close');
      expect(await closeConnections(rabbitPrefix(cluster.name))).toBe(2);
      // At-most-once: publishes until b is bound again may be missed, so keep publishing until one lands.
      await vi.waitFor(async () => {
        await a!.pubSubManager.publish('news', 'after');
        await within(second.promise, 200, 'after');
      }, waitOpts);
      expect(heard[0]).toBe('before');
    });

    it('declares a queue again when it was deleted behind a publisher that had declared it', async () => {
      const cluster = rabbitmqFactory('rabbitmq', () => target.url).create();
      clusters.push(cluster);
      const [publisher, operator] = await started(cluster, 2);
      const channel = randomName('q');
      await publisher!.eventQueue.publish(channel, 'first');
      // Another node removes the queue; the publisher still believes it is declared.
      await operator!.eventQueue.obliterate(channel);
      await publisher!.eventQueue.publish(channel, 'second');
      // Returned as unroutable (mandatory), declared again, sent again: it is there, not dropped.
      expect(await publisher!.eventQueue.counts(channel)).toMatchObject({ waiting: 1 });
      const got = deferred<unknown>();
      await operator!.eventQueue.subscribe(channel, { process: (message) => got.resolve(message) });
      expect(await within(got.promise, DEADLINE_MS, 'the message published after the delete')).toBe('second');
    });

    // Once quarantined under CI: stopping the nodes after the proxied outage hung (a channel close in
    // flight when the link went never settled). The stop is bounded now: test/rabbitmq/stop-bound.test.ts.
    it('waits (bounded) for a lost broker, then rejects with BACKEND_UNAVAILABLE; recovers when it is back', async () => {
      const broker = new URL(target.url);
      proxy = await startTcpProxy(broker.hostname, Number(broker.port || 5672));
      const through = proxy.url(target.url);
      const cluster = rabbitmqFactory('rabbitmq via proxy', () => through, {
        unavailableTimeoutMs: 1_000,
        reconnectMaxDelayMs: 200,
      }).create();
      clusters.push(cluster);
      const [publisher, worker] = await started(cluster, 2);
      const channel = randomName('q');
      const got = new Set<string>();
      const before = deferred();
      const waited = deferred();
      await worker!.eventQueue.subscribe<string>(channel, {
        process(message) {
          got.add(message);
          if (message === 'before') before.resolve();
          if (message === 'waited') waited.resolve();
        },
      });
      await publisher!.eventQueue.publish(channel, 'before');
      await within(before.promise, DEADLINE_MS, 'message before the outage');

      await proxy.cut();
      const cutAt = Date.now();
      await expect(publisher!.eventQueue.publish(channel, 'refused')).rejects.toMatchObject({
        code: ErrorCodes.BACKEND_UNAVAILABLE,
      });
      const refusedAfterMs = Date.now() - cutAt;
      // A publish that starts during the outage and sees the broker come back inside the bound waits for it.
      const waiting = publisher!.eventQueue.publish(channel, 'waited');
      await proxy.restore();
      await within(waiting, DEADLINE_MS, 'publish made during the outage');
      await within(waited.promise, DEADLINE_MS, 'consumer resumed after the outage');
      // 'before' may have run twice (its ack can die with the connection): at-least-once.
      expect([...got].sort()).toEqual(['before', 'waited']);
      console.info(`[rabbitmq recovery] publish refused ${refusedAfterMs} ms into an outage (bound 1000 ms)`);
    });

    it('rejects a publish the broker does not confirm within the bound (stalled network, blocked broker)', async () => {
      const broker = new URL(target.url);
      proxy = await startTcpProxy(broker.hostname, Number(broker.port || 5672));
      const through = proxy.url(target.url);
      const cluster = rabbitmqFactory('rabbitmq via proxy', () => through, { unavailableTimeoutMs: 800 }).create();
      clusters.push(cluster);
      const [app] = await started(cluster, 1);
      const channel = randomName('q');
      await app!.eventQueue.publish(channel, 'declared');
      proxy.freeze();
      const t0 = Date.now();
      await expect(app!.eventQueue.publish(channel, 'stalled')).rejects.toMatchObject({
        code: ErrorCodes.BACKEND_UNAVAILABLE,
        message: expect.stringMatching(/did not confirm/),
      });
      const waitedMs = Date.now() - t0;
      proxy.thaw();
      // Once bytes flow again the same connection carries on.
      await within(app!.eventQueue.publish(channel, 'after'), DEADLINE_MS, 'publish after the stall');
      console.info(`[rabbitmq recovery] unconfirmed publish rejected after ${waitedMs} ms (bound 800 ms)`);
    });

    // Restarting the broker's app stops every other test's connections too, so it runs only when asked.
    const restart = process.env.CLUSTERKIT_TEST_BROKER_RESTART === '1';
    it.skipIf(!restart)(
      'survives a broker restart (stop_app/start_app; set CLUSTERKIT_TEST_BROKER_RESTART=1)',
      async () => {
        const cluster = rabbitmqFactory('rabbitmq', () => target.url).create();
        clusters.push(cluster);
        const [publisher, worker] = await started(cluster, 2);
        const channel = randomName('q');
        const got = new Set<string>();
        await worker!.eventQueue.subscribe<string>(channel, { process: (m) => void got.add(m) });
        await publisher!.eventQueue.publish(channel, 'durable', { delay: 3_000 });
        const t0 = Date.now();
        try {
          await rabbitmqctl('stop_app');
        } finally {
          await rabbitmqctl('start_app');
          await rabbitmqctl('await_startup');
        }
        await publisher!.eventQueue.publish(channel, 'after restart');
        await vi.waitFor(() => expect([...got].sort()).toEqual(['after restart', 'durable']), waitOpts);
        console.info(
          `[rabbitmq recovery] broker restart: delayed message and new work handled ${Date.now() - t0} ms after stop_app`,
        );
      },
    );
  });
}
