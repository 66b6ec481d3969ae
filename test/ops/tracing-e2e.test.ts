/**
 * Tracing end to end, on memory and on Redis: a real `@opentelemetry/api` with an AsyncLocalStorage
 * context manager and a tracer that records spans (what an SDK would export). One node publishes or
 * enqueues inside a span; another node runs the handler, whose span must be a child of that span,
 * carried on the wire as W3C `traceparent`. Outside any span, nothing trace-related is written.
 * Redis runs it on both managed-job engines (the default native one and `engine: 'records'`).
 */
import { SpanKind, SpanStatusCode, trace, type SpanContext } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { appScopedName, currentTenant, UnrecoverableError, type App } from 'clusterkit/adapter-kit';
import type { ClusterFactory, TestCluster } from '../conformance/cluster.js';
import { memoryFactory } from '../conformance/memory-factory.js';
import { redisFactory, resolveRedisUrl } from '../conformance/redis-factory.js';
import { deferred, randomName, within } from '../helpers.js';
import { installRecordingTracer, type Recorded } from './recording-tracer.js';

/** The recording tracer, seen through the API's typed overloads. */
const { tracer: apiTracer, spans } = installRecordingTracer();

/** Runs `fn` inside a producer span and returns that span's record with fn's result. */
async function inProducerSpan<T>(name: string, fn: () => Promise<T>): Promise<{ producer: Recorded; result: T }> {
  const result = await apiTracer.startActiveSpan(name, { kind: SpanKind.PRODUCER }, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
  return { producer: spans.find((s) => s.name === name)!, result };
}

/** The ended spans named `name` (a handler's span ends just after the handler returns). */
async function endedSpans(name: string, count: number): Promise<Recorded[]> {
  return vi.waitFor(
    () => {
      const found = spans.filter((s) => s.name === name && s.ended);
      expect(found).toHaveLength(count);
      return found;
    },
    { timeout: 10_000 },
  );
}

/**
 * The suite on `factory`; `records`: its managed jobs run on the record engine (job records and
 * tickets on the physical queue), which the record-and-ticket case reads.
 */
function tracingSuite(factory: ClusterFactory, records: boolean): void {
  describe(`tracing end to end on ${factory.label}`, () => {
    let cluster: TestCluster;

    afterEach(async () => {
      await cluster?.dispose();
    });

    /** A publishing/enqueueing node without a worker, and a worker node: the work crosses nodes. */
    async function twoNodes(): Promise<{ producer: App; worker: App }> {
      cluster = factory.create();
      const producer = cluster.node({ managedQueue: { worker: false } });
      const worker = cluster.node();
      await Promise.all([producer.start(), worker.start()]);
      return { producer, worker };
    }

    it('eventQueue: the handler on another node runs in a consumer span, child of the publisher span', async () => {
      const { producer, worker } = await twoNodes();
      const channel = randomName('traced');
      const handled = deferred<SpanContext | undefined>();
      await worker.eventQueue.subscribe(channel, {
        process: async () => handled.resolve(trace.getActiveSpan()?.spanContext()),
      });
      const { producer: publishSpan, result } = await inProducerSpan(`publish ${channel}`, () =>
        producer.eventQueue.publish(channel, { hello: 'world' }),
      );
      const active = await within(handled.promise, 10_000, 'the traced handler');
      const [consumer] = await endedSpans(channel, 1);
      expect(consumer).toMatchObject({
        kind: SpanKind.CONSUMER,
        parentSpanId: publishSpan.context.spanId,
        status: { code: SpanStatusCode.OK },
        attributes: {
          'messaging.system': 'clusterkit',
          'messaging.destination.name': channel,
          'messaging.message.id': result.id,
        },
      });
      expect(consumer!.context.traceId).toBe(publishSpan.context.traceId);
      // The handler saw its own span as the active one (so its own spans nest under it).
      expect(active).toEqual(consumer!.context);
    });

    it('eventQueue: the trace rides in the envelope only inside a span; failures mark the span', async () => {
      const { producer, worker } = await twoNodes();
      const channel = randomName('traced-dead');
      await worker.eventQueue.subscribe(channel, {
        process: async () => {
          throw new UnrecoverableError('bad input');
        },
      });
      await producer.eventQueue.publish(channel, { n: 'untraced' });
      const { producer: publishSpan } = await inProducerSpan(`publish ${channel}`, () =>
        producer.eventQueue.publish(channel, { n: 'traced' }),
      );
      // Dead letters keep the raw envelope: the wire format as any node received it.
      const queue = `${cluster.name}:${channel}`;
      const letters = await vi.waitFor(
        async () => {
          const list = await producer.eventQueue.adapter.listDeadLetters(queue, { offset: 0, limit: 10 });
          expect(list).toHaveLength(2);
          return list;
        },
        { timeout: 10_000 },
      );
      const bodies = letters.map((l) => JSON.parse(l.body) as { message: { n: string }; trace?: unknown });
      const untraced = bodies.find((b) => b.message.n === 'untraced')!;
      const traced = bodies.find((b) => b.message.n === 'traced')!;
      expect(untraced).not.toHaveProperty('trace');
      expect(traced.trace).toEqual({
        traceparent: `00-${publishSpan.context.traceId}-${publishSpan.context.spanId}-01`,
      });
      const failed = await endedSpans(channel, 2);
      for (const span of failed) {
        expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad input' });
        expect(span.exceptions).toEqual([expect.objectContaining({ message: 'bad input' })]);
      }
      expect(failed.map((s) => s.parentSpanId)).toEqual(
        expect.arrayContaining([publishSpan.context.spanId, undefined]),
      );
    });

    it('managedQueue: every attempt runs in a <plugin>/<queue>/<job> span under the enqueuer, in tenant context', async () => {
      const { producer, worker } = await twoNodes();
      const plugin = randomName('mail');
      const seen: { tenant: string | undefined; span: SpanContext | undefined }[] = [];
      const done = deferred();
      await worker.managedQueue.process({ pluginName: plugin, queueName: 'outbox', jobName: 'send' }, async () => {
        seen.push({ tenant: currentTenant()?.tenantId, span: trace.getActiveSpan()?.spanContext() });
        if (seen.length === 1) throw new Error('smtp down');
        done.resolve();
        return 'sent';
      });
      const { producer: enqueueSpan, result } = await inProducerSpan(`enqueue ${plugin}`, () =>
        producer.managedQueue.enqueue({
          pluginName: plugin,
          queueName: 'outbox',
          jobName: 'send',
          tenantId: 'acme',
          payload: { to: 'a@example.com' },
          attempts: 2,
          backoffMs: 10,
        }),
      );
      await within(done.promise, 15_000, 'the retried job');
      const name = `${plugin}/outbox/send`;
      const [first, second] = await endedSpans(name, 2);
      for (const [attempt, span] of [first!, second!].entries()) {
        expect(span).toMatchObject({
          kind: SpanKind.CONSUMER,
          parentSpanId: enqueueSpan.context.spanId,
          attributes: {
            'messaging.system': 'clusterkit',
            'messaging.destination.name': worker.managedQueue.physicalChannel,
            'messaging.message.id': result.jobId,
            'clusterkit.plugin': plugin,
            'clusterkit.queue': 'outbox',
            'clusterkit.job': 'send',
            'clusterkit.tenant': 'acme',
            'clusterkit.attempt': attempt,
          },
        });
        expect(span.context.traceId).toBe(enqueueSpan.context.traceId);
      }
      expect(first!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp down' });
      expect(second!.status).toEqual({ code: SpanStatusCode.OK });
      // The handler ran inside both its tenant context and its own span.
      expect(seen).toEqual([
        { tenant: 'acme', span: first!.context },
        { tenant: 'acme', span: second!.context },
      ]);
    });

    it.runIf(records)(
      'managedQueue: outside a span the record carries no trace; the job span nests in its ticket span only',
      async () => {
        const { producer, worker } = await twoNodes();
        const plugin = randomName('untraced');
        const done = deferred<string>();
        await worker.managedQueue.process({ pluginName: plugin, queueName: 'q', jobName: 'j' }, async (job) => {
          const stored = await worker.managedQueue.jobStore.get(job.id);
          done.resolve(JSON.stringify(stored ?? {}));
        });
        const { jobId } = await producer.managedQueue.enqueue({
          pluginName: plugin,
          queueName: 'q',
          jobName: 'j',
          payload: 1,
        });
        const stored = JSON.parse(await within(done.promise, 10_000, 'the untraced job')) as Record<string, unknown>;
        expect(stored.id).toBe(jobId);
        expect(stored).not.toHaveProperty('trace');
        const [span] = await endedSpans(`${plugin}/q/j`, 1);
        // With no enqueuer trace, the job span's parent is the physical ticket's consumer span, a root.
        const ticket = spans.find((s) => s.context.spanId === span!.parentSpanId);
        expect(ticket).toMatchObject({ name: worker.managedQueue.physicalChannel, parentSpanId: undefined });
        expect(span!.context.traceId).toBe(ticket!.context.traceId);
      },
    );

    it('physicalChannel is the bare channel of the physical queue', async () => {
      const { worker } = await twoNodes();
      expect(worker.managedQueue.physicalChannel).toBe('managed-queue:plugin-jobs');
      expect(worker.managedQueue.physicalQueueName).toBe(
        appScopedName(cluster.name, worker.managedQueue.physicalChannel),
      );
    });
  });
}

tracingSuite(memoryFactory, true);

const target = await resolveRedisUrl();
if ('skip' in target) {
  describe.skip(`tracing end to end on redis (skipped: ${target.skip})`, () => {
    it('needs a Redis server', () => {});
  });
} else {
  afterAll(async () => {
    await target.stop?.();
  });
  // Redis's default managed-job engine (native), and the record engine.
  tracingSuite(
    redisFactory('redis', () => ({ url: target.url })),
    false,
  );
  tracingSuite(
    redisFactory(
      'redis records',
      () => ({ url: target.url }),
      () => ({ managedJobs: { engine: 'records' } }),
    ),
    true,
  );
}
