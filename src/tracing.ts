/**
 * Optional OpenTelemetry tracing (used by the event queue and the job layer; exported for plugins). `@opentelemetry/api` is an optional peer dependency: it is loaded
 * with a guarded dynamic import, and when it is missing every helper is a cheap no-op.
 *
 * The job layers call {@link injectTraceContext} when they build an envelope (enqueue/publish) and
 * store the carrier in it; the consumer calls {@link runInSpan} around the handler with that
 * carrier, so the handler's span is a child of the producer's trace (W3C `traceparent`).
 */
import type * as OtelApi from '@opentelemetry/api';

/** W3C trace context as carried inside an envelope. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
  [key: string]: string | undefined;
}

/** Options of {@link runInSpan}. */
export interface RunInSpanOptions {
  /** Trace context taken from the envelope; the span becomes its child. */
  carrier?: TraceCarrier | null;
  /** Span attributes. */
  attributes?: Record<string, string | number | boolean | undefined>;
  /** @default 'consumer' */
  kind?: 'consumer' | 'producer' | 'internal';
}

// A variable specifier keeps bundlers from trying to inline or require the optional peer.
const OTEL_MODULE = '@opentelemetry/api';
let loading: Promise<typeof OtelApi | null> | undefined;
let loaded: typeof OtelApi | null | undefined;

/**
 * Loads `@opentelemetry/api` once (call it at startup so {@link captureTraceContext} is ready);
 * resolves whether it is installed. Its types stay out of clusterkit's public signatures, so apps
 * without the package type-check too.
 */
export async function loadOpenTelemetry(): Promise<boolean> {
  return (await loadApi()) !== null;
}

function loadApi(): Promise<typeof OtelApi | null> {
  loading ??= import(OTEL_MODULE).then(
    (mod: typeof OtelApi & { default?: typeof OtelApi }) => (loaded = mod.trace ? mod : (mod.default ?? null)),
    () => (loaded = null),
  );
  return loading;
}

/**
 * True when OpenTelemetry is loaded AND an SDK has registered a tracer provider. Without an SDK the
 * API hands out no-op spans, so opening one per message would be pure overhead: consumers check
 * this (two property reads) before {@link runInSpan}.
 */
export function tracingEnabled(): boolean {
  const api = loaded;
  if (!api) return false;
  const provider = api.trace.getTracerProvider() as OtelApi.TracerProvider & { getDelegate?: () => unknown };
  const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
  noopProvider ??= new api.ProxyTracerProvider().getDelegate();
  return delegate !== noopProvider;
}
let noopProvider: unknown;

/** The span name of a managed job: `<plugin>/<queue>/<job>`. */
export function jobSpanName(job: { pluginName: string; queueName: string; jobName: string }): string {
  return `${job.pluginName}/${job.queueName}/${job.jobName}`;
}

/**
 * Captures the active trace context as a W3C carrier (`traceparent`, `tracestate`, plus whatever
 * the registered propagator adds, such as baggage). Resolves undefined when OpenTelemetry is not
 * installed or no span is active, so envelopes stay unchanged for untraced apps.
 */
export async function injectTraceContext(): Promise<TraceCarrier | undefined> {
  if (loaded === undefined) await loadApi();
  return captureTraceContext();
}

/**
 * Synchronous {@link injectTraceContext} for hot paths (building an envelope). It sees OpenTelemetry
 * only once {@link loadOpenTelemetry} has resolved — call that at startup (`app.start()`); before,
 * it starts the load and returns undefined.
 */
export function captureTraceContext(): TraceCarrier | undefined {
  if (loaded === undefined) {
    void loadApi();
    return undefined;
  }
  const api = loaded;
  if (!api) return undefined;
  const active = api.context.active();
  // No active span (the common case on a hot publish path): nothing to carry, nothing allocated.
  if (api.trace.getSpan(active) === undefined) return undefined;
  const carrier: TraceCarrier = {};
  api.propagation.inject(active, carrier);
  // The API's default propagator is a no-op until an SDK registers one; write W3C ourselves then.
  const span = api.trace.getSpanContext(active);
  if (!carrier.traceparent && span && api.isSpanContextValid(span)) {
    carrier.traceparent = `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
    const state = span.traceState?.serialize();
    if (state) carrier.tracestate = state;
  }
  return carrier.traceparent ? carrier : undefined;
}

/**
 * Runs `fn` inside a new active span named `name`, child of the context in `options.carrier`.
 * A throw marks the span as an error (and is rethrown); the span always ends. Without OpenTelemetry
 * it just runs `fn`.
 */
export async function runInSpan<T>(name: string, options: RunInSpanOptions, fn: () => Promise<T> | T): Promise<T> {
  const api = loaded === undefined ? await loadApi() : loaded;
  if (!api) return fn();
  const parent = extract(api, options.carrier);
  const kind =
    options.kind === 'producer'
      ? api.SpanKind.PRODUCER
      : options.kind === 'internal'
        ? api.SpanKind.INTERNAL
        : api.SpanKind.CONSUMER;
  const attributes = Object.fromEntries(
    Object.entries(options.attributes ?? {}).filter(
      (entry): entry is [string, string | number | boolean] => entry[1] !== undefined,
    ),
  );
  const tracer = api.trace.getTracer('clusterkit');
  return tracer.startActiveSpan(name, { kind, attributes }, parent, async (span) => {
    try {
      const result = await fn();
      span.setStatus({ code: api.SpanStatusCode.OK });
      return result;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      span.recordException(err);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: err.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Span attributes for a managed job, following the OpenTelemetry messaging conventions. */
export function jobSpanAttributes(job: {
  id?: string;
  pluginName: string;
  queueName: string;
  jobName: string;
  tenantId?: string;
  attemptsMade?: number;
  physicalQueue?: string;
}): Record<string, string | number | undefined> {
  return {
    'messaging.system': 'clusterkit',
    'messaging.operation.type': 'process',
    'messaging.destination.name': job.physicalQueue,
    'messaging.message.id': job.id,
    'clusterkit.plugin': job.pluginName,
    'clusterkit.queue': job.queueName,
    'clusterkit.job': job.jobName,
    'clusterkit.tenant': job.tenantId,
    'clusterkit.attempt': job.attemptsMade,
  };
}

function extract(api: typeof OtelApi, carrier: TraceCarrier | null | undefined): OtelApi.Context {
  const base = api.context.active();
  if (!carrier || typeof carrier !== 'object') return base;
  const extracted = api.propagation.extract(base, carrier);
  if (api.trace.getSpanContext(extracted) !== api.trace.getSpanContext(base)) return extracted;
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(carrier.traceparent ?? ''));
  if (!match) return base;
  const spanContext: OtelApi.SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
    ...(carrier.tracestate ? { traceState: api.createTraceState(carrier.tracestate) } : {}),
  };
  return api.isSpanContextValid(spanContext) ? api.trace.setSpanContext(base, spanContext) : base;
}
