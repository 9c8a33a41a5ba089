import type { Span, Tracer } from '@opentelemetry/api';
import type { TracingConfig } from '../config/tracing-config';
import type { TraceContext } from './trace';

/**
 * The process's tracer while tracing is on (`OTEL_EXPORTER_OTLP_ENDPOINT` set), undefined while it is off. Every
 * tracing hook on the message path asks this first and does nothing else when it is undefined, so that a fleet
 * without tracing loads no SDK and makes no span, context or attribute object per message.
 */
export let tracer: Tracer | undefined;

/** What {@link startTracing} leaves to flush on shutdown. */
interface TracingSdk {
  tracer: Tracer;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let sdk: TracingSdk | undefined;

/**
 * Starts exporting spans over OTLP when the config asks for it, before the service is built; a no-op otherwise.
 * One service per process (what `run.ts` and a container run): the resource names that service.
 */
export async function startTracing(config: TracingConfig | undefined, service: string): Promise<void> {
  if (!config || sdk) return;
  // Loaded here, not imported at the top: a fleet without tracing never loads the SDK or the exporter.
  const { createTracingSdk } = await import('./tracing-sdk.js');
  sdk = createTracingSdk(config, service);
  tracer = sdk.tracer;
}

/** Sends the spans still buffered (on a graceful stop, before the process exits); nothing to do while tracing is off. */
export async function flushTracing(): Promise<void> {
  await sdk?.flush().catch(() => undefined);
}

/** Flushes and stops the exporter; tracing is off afterwards (tests, and a process on its way out). */
export async function stopTracing(): Promise<void> {
  const stopping = sdk;
  sdk = undefined;
  tracer = undefined;
  await stopping?.shutdown().catch(() => undefined);
}

/** Warren's own trace context (ids in log lines and headers) of an OpenTelemetry span. */
export function traceContextOf(span: Span): TraceContext {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { traceId, spanId, flags: traceFlags.toString(16).padStart(2, '0') };
}
