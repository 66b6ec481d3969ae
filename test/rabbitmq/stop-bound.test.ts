/**
 * `app.stop()` on RabbitMQ resolves within `stopGracePeriodMs` + 5 s whatever the network or the
 * broker does during the stop, and nothing whose publish was confirmed is lost across the episode.
 *
 * amqplib settles `channel.close()` and `connection.close()` only when the broker's CloseOk arrives;
 * a link that dies or freezes while a close is in flight used to leave `app.stop()` pending for ever
 * (or for ~3 heartbeats on a silent partition). Each case below runs a worker node behind its own
 * TCP proxy, arms a fault on the first close frame its stop sends, and measures the stop:
 *
 * - link lost during the channel close / the connection close (frozen at the frame, reset 200 ms later);
 * - a silent partition (frozen, no FIN, no RST, never thawed) at the first channel close;
 * - the broker closing the connection (`rabbitmqctl close_connection`, this node's connection only)
 *   while the client's close frame is on its way.
 *
 * Afterwards a fresh node drains the queue: every confirmed message was handled at least once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveAmqpUrl } from '../conformance/rabbitmq-factory.js';
import { randomName, within } from '../helpers.js';
import { closeConnections } from './broker.js';
import { rabbitSite, type Site } from './proxied-site.js';
import type { SeenMethod, TcpProxy } from './tcp-proxy.js';

const target = await resolveAmqpUrl();
const GRACE_MS = 1_000;
/** The promise under test: grace + 5 s. */
const STOP_BOUND_MS = GRACE_MS + 5_000;
const DEADLINE_MS = 30_000;
const TOTAL = 60;

type Fault = (proxy: TcpProxy, connectionName: string, seen: SeenMethod) => void;

/** Freeze at the frame, reset the link 200 ms later: the link is lost while the close is in flight. */
const loseLink: Fault = (proxy) => {
  proxy.freeze();
  setTimeout(() => void proxy.cut(), 200);
};
/** Freeze for good: no byte, no FIN, no RST (a silent partition). */
const partition: Fault = (proxy) => proxy.freeze();
/** Hold the client's close until the broker has closed the connection from its side, then send it. */
const brokerCloses: Fault = (proxy, connectionName) => {
  proxy.freeze('to-broker');
  const off = proxy.onMethod((m) => {
    if (m.direction === 'to-client' && m.name === 'connection.close') {
      off();
      // Released right after the broker's close was forwarded: both closes cross on the wire.
      setImmediate(() => proxy.thaw());
    }
  });
  void closeConnections(connectionName, 'test: broker-side close racing the client close');
};

const cases: { name: string; on: 'channel.close' | 'connection.close'; fault: Fault; heartbeatSeconds?: number }[] = [
  { name: 'link lost during the channel close', on: 'channel.close', fault: loseLink },
  { name: 'link lost during the connection close', on: 'connection.close', fault: loseLink },
  // A 5 s heartbeat: the old code waited for ~3 of them (14.9 s) before the stop resolved.
  { name: 'silent partition at the first channel close', on: 'channel.close', fault: partition, heartbeatSeconds: 5 },
  { name: 'silent partition at the connection close', on: 'connection.close', fault: partition, heartbeatSeconds: 5 },
  { name: 'broker closes the connection during the channel close', on: 'channel.close', fault: brokerCloses },
  { name: 'broker closes the connection during the connection close', on: 'connection.close', fault: brokerCloses },
];

if ('skip' in target) {
  describe.skip(`rabbitmq stop bound (skipped: ${target.skip})`, () => {
    it('needs a RabbitMQ broker', () => {});
  });
} else {
  describe('rabbitmq app.stop() is bounded', () => {
    let site: Site | undefined;
    afterEach(async () => {
      await site?.dispose();
      site = undefined;
    });

    it.each(cases)(
      '$name: stop within grace + 5 s, nothing confirmed lost',
      async ({ on, fault, heartbeatSeconds }) => {
        site = rabbitSite(target.url);
        const channel = randomName('q');
        const handled = new Map<number, number>();
        const count = (n: number) => handled.set(n, (handled.get(n) ?? 0) + 1);

        const publisher = site.direct();
        const worker = await site.proxied(heartbeatSeconds === undefined ? {} : { heartbeatSeconds });
        await worker.app.eventQueue.subscribe<number>(channel, { concurrency: 8, process: count });
        // Pub/sub and the managed-job consumer are part of the node too: their closes are in the stop.
        await worker.app.pubSubManager.subscribe('news', () => {});
        await Promise.all([publisher.app.start(), worker.app.start()]);

        const confirmed: number[] = [];
        for (let n = 0; n < TOTAL; n++) {
          await publisher.app.eventQueue.publish(channel, n);
          confirmed.push(n);
        }
        await vi.waitFor(() => expect(handled.size).toBeGreaterThanOrEqual(10), { timeout: DEADLINE_MS, interval: 20 });

        let fired: SeenMethod | undefined;
        worker.proxy.onMethod((m) => {
          if (fired || m.direction !== 'to-broker' || m.name !== on) return;
          fired = m;
          fault(worker.proxy, worker.connectionName, m);
        });
        const t0 = performance.now();
        await within(worker.app.stop(), DEADLINE_MS, 'app.stop()');
        const stopMs = performance.now() - t0;
        expect(fired, `the stop sent a ${on}`).toBeDefined();
        console.info(`[rabbitmq stop bound] ${on}: stop took ${Math.round(stopMs)} ms (bound ${STOP_BOUND_MS} ms)`);
        expect(stopMs).toBeLessThanOrEqual(STOP_BOUND_MS);

        // Whatever the worker did not get acked comes back: a fresh node handles the rest.
        const drain = site.direct();
        await drain.app.eventQueue.subscribe<number>(channel, { concurrency: 8, process: count });
        await drain.app.start();
        await vi.waitFor(() => expect(confirmed.filter((n) => !handled.has(n))).toEqual([]), {
          timeout: DEADLINE_MS,
          interval: 50,
        });
      },
    );
  });
}
