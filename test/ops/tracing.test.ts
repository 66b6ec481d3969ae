/**
 * Tracing helpers with the real `@opentelemetry/api`, a minimal AsyncLocalStorage context manager
 * and a tracer that records spans (what an SDK would export): the producer's trace context is
 * carried as W3C `traceparent`, and the handler span is its child.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type SpanContext } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  captureTraceContext,
  injectTraceContext,
  jobSpanAttributes,
  jobSpanName,
  runInSpan,
  type TraceCarrier,
} from 'clusterkit';
import { installRecordingTracer } from './recording-tracer.js';

const { tracer, spans } = installRecordingTracer();

describe('tracing helpers', () => {
  it('injectTraceContext gives nothing outside a span', async () => {
    expect(await injectTraceContext()).toBeUndefined();
  });

  it('carries the producer trace to the handler span as W3C traceparent', async () => {
    const carrier = (await tracer.startActiveSpan('enqueue', { kind: SpanKind.PRODUCER }, () =>
      injectTraceContext(),
    )) as TraceCarrier | undefined;
    const producer = spans.find((s) => s.name === 'enqueue')!;
    expect(carrier).toEqual({ traceparent: `00-${producer.context.traceId}-${producer.context.spanId}-01` });
    // The synchronous variant (for building envelopes) sees the same context once the API is loaded.
    expect(tracer.startActiveSpan('sync', () => captureTraceContext())).toMatchObject({
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-/),
    });

    const job = {
      id: 'j1',
      pluginName: 'mail',
      queueName: 'outbox',
      jobName: 'send',
      tenantId: 'acme',
      attemptsMade: 0,
    };
    let active: SpanContext | undefined;
    // The handler runs later, elsewhere: outside the producer's context, with only the carrier.
    const result = await context.with(ROOT_CONTEXT, () =>
      runInSpan(jobSpanName(job), { carrier, attributes: jobSpanAttributes(job) }, async () => {
        active = trace.getActiveSpan()?.spanContext();
        return 'sent';
      }),
    );
    expect(result).toBe('sent');
    const consumer = spans.find((s) => s.name === 'mail/outbox/send')!;
    expect(consumer).toMatchObject({
      kind: SpanKind.CONSUMER,
      parentSpanId: producer.context.spanId,
      status: { code: SpanStatusCode.OK },
      ended: true,
      attributes: {
        'messaging.system': 'clusterkit',
        'clusterkit.plugin': 'mail',
        'clusterkit.tenant': 'acme',
        'messaging.message.id': 'j1',
      },
    });
    expect(consumer.context.traceId).toBe(producer.context.traceId);
    expect(active).toEqual(consumer.context);
    // Undefined attributes (no physical queue given) are left out, not sent as empty values.
    expect(consumer.attributes).not.toHaveProperty('messaging.destination.name');
  });

  it('marks a throwing handler span as an error, records the exception, ends it and rethrows', async () => {
    await expect(
      runInSpan('mail/outbox/fail', {}, async () => {
        throw new Error('smtp down');
      }),
    ).rejects.toThrow('smtp down');
    const span = spans.find((s) => s.name === 'mail/outbox/fail')!;
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp down' });
    expect(span.exceptions).toEqual([expect.objectContaining({ message: 'smtp down' })]);
    expect(span.ended).toBe(true);
    expect(span.parentSpanId).toBeUndefined();
  });

  it('ignores a malformed carrier (new root span)', async () => {
    await runInSpan('mail/outbox/bad-carrier', { carrier: { traceparent: 'garbage' } }, () => 1);
    expect(spans.find((s) => s.name === 'mail/outbox/bad-carrier')!.parentSpanId).toBeUndefined();
  });
});
