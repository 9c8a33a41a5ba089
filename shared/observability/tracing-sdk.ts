import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig, TracesSampler } from '../config/tracing-config';

const TRACER_NAME = 'warren';
/** How long a graceful stop waits for the last spans to reach the collector. */
const FLUSH_TIMEOUT_MS = 5000;
/**
 * Spans waiting for export before new ones are dropped, and per export request. A worker at a few thousand
 * messages a second ends five to eight spans per message, more than the SDK's defaults (2048 and 512, sent every
 * 5 s) hold between two exports; these bound the buffer at about 10 MB.
 */
const BATCH = { maxQueueSize: 16_384, maxExportBatchSize: 2048, scheduledDelayMillis: 1000 };

/**
 * The OpenTelemetry SDK of one service: spans batched and sent as OTLP/protobuf over HTTP to
 * `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`, sampled as `OTEL_TRACES_SAMPLER` says, with an AsyncLocalStorage
 * context so that Redis and publish spans find the request or delivery they run under. Imported only when
 * tracing is on (tracing.ts).
 */
export function createTracingSdk(config: TracingConfig, service: string) {
  const exporter = new OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName ?? service }),
    sampler: samplerOf(config.sampler, config.samplerRatio),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...BATCH })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return {
    tracer: provider.getTracer(TRACER_NAME),
    flush: () => provider.forceFlush({ timeoutMillis: FLUSH_TIMEOUT_MS }),
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

/** The sampler `OTEL_TRACES_SAMPLER` names, as the OpenTelemetry specification defines them. */
function samplerOf(name: TracesSampler, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
