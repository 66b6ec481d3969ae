/**
 * `tracingEnabled()` gates the per-message span: off until an SDK registers a tracer provider, so
 * apps that merely have `@opentelemetry/api` installed pay nothing per message.
 */
import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { captureTraceContext, loadOpenTelemetry, tracingEnabled } from 'clusterkit';

describe('tracingEnabled', () => {
  afterEach(() => trace.disable());

  it('is false with the API loaded but no SDK registered, and no carrier is captured', async () => {
    trace.disable();
    expect(await loadOpenTelemetry()).toBe(true);
    expect(tracingEnabled()).toBe(false);
    expect(captureTraceContext()).toBeUndefined();
  });

  it('turns true once a tracer provider is registered, and false again when it is removed', async () => {
    await loadOpenTelemetry();
    const provider: TracerProvider = { getTracer: () => ({}) as Tracer };
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    expect(tracingEnabled()).toBe(true);
    trace.disable();
    expect(tracingEnabled()).toBe(false);
  });
});
