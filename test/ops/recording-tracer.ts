/**
 * A recording tracer for tracing tests: the real `@opentelemetry/api` with a minimal AsyncLocalStorage
 * context manager and a tracer that keeps every span it starts (what an SDK would export), so tests can
 * check names, kinds, parents, attributes, status and exceptions.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  context,
  ROOT_CONTEXT,
  trace,
  type Context,
  type ContextManager,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
  type SpanStatus,
  type Tracer,
} from '@opentelemetry/api';
import { afterAll, beforeAll } from 'vitest';

/** One span as the recording tracer saw it. */
export interface Recorded {
  name: string;
  kind: SpanKind | undefined;
  context: SpanContext;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  status: SpanStatus | undefined;
  exceptions: unknown[];
  ended: boolean;
}

/** A context manager on AsyncLocalStorage: the active context follows async calls, as with the SDK's. */
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

/** A tracer that appends a {@link Recorded} to `spans` for every span it starts. */
class RecordingTracer implements Tracer {
  constructor(private readonly spans: Recorded[]) {}

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
    this.spans.push(record);
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

/**
 * Registers, for the calling test file, an AsyncLocalStorage context manager and a recording tracer as the
 * global OpenTelemetry ones (in `beforeAll`), and removes them again (in `afterAll`).
 *
 * @returns the tracer and the list it records every started span into, in start order.
 */
export function installRecordingTracer(): { tracer: Tracer; spans: Recorded[] } {
  const spans: Recorded[] = [];
  const tracer = new RecordingTracer(spans);
  beforeAll(() => {
    context.setGlobalContextManager(new AlsContextManager());
    trace.setGlobalTracerProvider({ getTracer: () => tracer });
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });
  return { tracer, spans };
}
