/**
 * Tracing helpers with the real `@opentelemetry/api`, a minimal AsyncLocalStorage context manager
 * and a tracer that records spans (what an SDK would export): the producer's trace context is
 * carried as W3C `traceparent`, and the handler span is its child.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type ContextManager,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureTraceContext,
  injectTraceContext,
  jobSpanAttributes,
  jobSpanName,
  runInSpan,
  type TraceCarrier,
} from 'clusterkit';

interface Recorded {
  name: string;
  kind: SpanKind | undefined;
  context: SpanContext;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  status: SpanStatus | undefined;
  exceptions: unknown[];
  ended: boolean;
}

const spans: Recorded[] = [];

class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ) {
    return this.als.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.als.disable();
    return this;
  }
}

class RecordingTracer implements Tracer {
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = trace.getSpanContext(ctx);
    const record: Recorded = {
      name,
      kind: options.kind,
      context: {
        traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        traceFlags: 1,
      },
      parentSpanId: parent?.spanId,
      attributes: { ...options.attributes },
      status: undefined,
      exceptions: [],
      ended: false,
    };
    spans.push(record);
    const span: Span = {
      spanContext: () => record.context,
      setAttribute: (k, v) => ((record.attributes[k] = v), span),
      setAttributes: (a) => (Object.assign(record.attributes, a), span),
      addEvent: () => span,
      addLink: () => span,
      addLinks: () => span,
      setStatus: (s) => ((record.status = s), span),
      updateName: (n) => ((record.name = n), span),
      end: () => void (record.ended = true),
      isRecording: () => !record.ended,
      recordException: (e) => void record.exceptions.push(e),
    };
    return span;
  }
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.pop() as F;
    const [options, ctx] = rest as [SpanOptions | undefined, Context | undefined];
    const parentCtx = ctx ?? context.active();
    const span = this.startSpan(name, options, parentCtx);
    return context.with(trace.setSpan(parentCtx, span), () => fn(span)) as ReturnType<F>;
  }
}

const tracer = new RecordingTracer();

beforeAll(() => {
  context.setGlobalContextManager(new AlsContextManager());
  trace.setGlobalTracerProvider({ getTracer: () => tracer });
});

afterAll(() => {
  trace.disable();
  context.disable();
});

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
