/**
 * Graceful stop under load: `app.stop()` while 100 jobs are in flight on the stopping node. The
 * in-flight handlers finish (their signals are not aborted within the grace period), the jobs it
 * had not started stay queued and another node handles them; none is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { counter, deferred, within } from '../helpers.js';
import { brokerScope, type Backend, type BrokerScope } from './backends.js';
import { figure, waitUntil } from './fault-helpers.js';

const IN_FLIGHT = 100;
const TOTAL = 300;
const CHANNEL = 'graceful-work';

const BACKENDS: Backend[] = ['memory', 'redis', 'rabbitmq', 'postgres'];

describe.each<Backend>(BACKENDS)('faults: graceful stop under load (%s)', (backend) => {
  let scope: BrokerScope;

  afterEach(async () => {
    await scope?.dispose([CHANNEL]);
  }, 60_000);

  it(`finishes the ${IN_FLIGHT} in-flight jobs on stop and leaves the rest queued for another node`, async () => {
    scope = brokerScope(backend);
    const stopping = scope.app({ stopGracePeriodMs: 60_000 });
    const producer = scope.app();
    const gate = deferred();
    const started = counter(IN_FLIGHT);
    const handled = new Map<number, string[]>();
    let aborted = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let stopCalled = false;
    let startedAfterStop = 0;
    await stopping.eventQueue.subscribe(CHANNEL, {
      concurrency: IN_FLIGHT,
      async process(m: { n: number }, { signal }) {
        started.hit();
        if (stopCalled) startedAfterStop += 1;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await gate.promise;
        inFlight -= 1;
        if (signal.aborted) aborted += 1;
        handled.set(m.n, [...(handled.get(m.n) ?? []), 'stopping']);
      },
    });
    await Promise.all([stopping.start(), producer.start()]);
    for (let n = 0; n < TOTAL; n += 1) await producer.eventQueue.publish(CHANNEL, { n });
    await within(started.done, 60_000, `${IN_FLIGHT} jobs in flight`);

    stopCalled = true;
    const stopped = stopping.stop();
    let stopResolved = false;
    void stopped.then(() => (stopResolved = true));
    // The handlers finish once the stop has reached the event queue (it stops taking messages
    // synchronously there). `app.stop()` first stops plugins and the managed queue, and until then
    // a slot freed by a finishing handler is refilled: see the faults report.
    await waitUntil(() => !stopping.eventQueue.isConnected(), 30_000, 'the event queue closing');
    expect(stopResolved).toBe(false);
    gate.resolve();
    await within(stopped, 60_000, 'stop() after the in-flight handlers finished');
    const finishedOnStoppingNode = handled.size;

    const all = counter(TOTAL - finishedOnStoppingNode);
    const other = scope.app();
    await other.eventQueue.subscribe(CHANNEL, {
      concurrency: 16,
      process(m: { n: number }) {
        handled.set(m.n, [...(handled.get(m.n) ?? []), 'other']);
        all.hit();
      },
    });
    await other.start();
    await within(all.done, 120_000, 'the rest handled by another node');

    const duplicates = [...handled.values()].reduce((sum, runs) => sum + runs.length - 1, 0);
    figure(
      `graceful-stop/${backend}`,
      'in flight at stop / finished by the stopping node',
      `${started.value} / ${finishedOnStoppingNode}`,
    );
    figure(`graceful-stop/${backend}`, 'handled by the other node', TOTAL - finishedOnStoppingNode);
    figure(`graceful-stop/${backend}`, 'duplicates', duplicates);
    figure(`graceful-stop/${backend}`, 'most in flight / started after stop()', `${maxInFlight} / ${startedAfterStop}`);

    expect(maxInFlight).toBe(IN_FLIGHT);
    expect(startedAfterStop).toBe(0);
    expect(started.value).toBe(IN_FLIGHT);
    expect(aborted).toBe(0);
    expect(finishedOnStoppingNode).toBe(IN_FLIGHT);
    expect(handled.size).toBe(TOTAL);
    expect(duplicates).toBe(0);
  }, 240_000);
});
