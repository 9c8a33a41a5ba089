/** The samplers of the OpenTelemetry specification's `OTEL_TRACES_SAMPLER`. */
export const TRACES_SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/** OpenTelemetry tracing, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (docs/observability.md). */
export interface TracingConfig {
  /** `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`: where spans go, as OTLP/protobuf over HTTP. */
  tracesUrl: string;
  /** `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,...`, values URL-encoded): sent with every export, e.g. an API key. @defaultValue none */
  headers: Record<string, string>;
  /** `OTEL_SERVICE_NAME` @defaultValue the service's own name (order, inventory, payment) */
  serviceName?: string;
  /** `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`), e.g. `deployment.environment.name=staging`. @defaultValue none */
  resourceAttributes: Record<string, string>;
  /** `OTEL_TRACES_SAMPLER` @defaultValue `parentbased_always_on` */
  sampler: TracesSampler;
  /** `OTEL_TRACES_SAMPLER_ARG`: the ratio of the `traceidratio` samplers, 0 to 1. @defaultValue 1 */
  samplerRatio: number;
}

/** The OpenTelemetry variables the services read, with the specification's names and meanings. */
export const TRACING_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
] as const;

type Env = Record<string, string | undefined>;

/**
 * Reads the tracing variables: undefined (tracing off) while `OTEL_EXPORTER_OTLP_ENDPOINT` is unset or empty.
 * A malformed one is reported through `fail` as one line naming it; its value is never echoed (headers carry keys).
 */
export function readTracingConfig(env: Env, fail: (message: string) => never): TracingConfig | undefined {
  const endpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() ?? '';
  if (endpoint === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    fail("OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL (the collector's OTLP/HTTP port, e.g. http://collector:4318)");
  const sampler = (env['OTEL_TRACES_SAMPLER']?.trim() || 'parentbased_always_on') as TracesSampler;
  if (!TRACES_SAMPLERS.includes(sampler)) fail(`OTEL_TRACES_SAMPLER: expected one of ${TRACES_SAMPLERS.join(', ')}`);
  const ratioText = env['OTEL_TRACES_SAMPLER_ARG']?.trim() || '1';
  const samplerRatio = Number(ratioText);
  if (!Number.isFinite(samplerRatio) || samplerRatio < 0 || samplerRatio > 1)
    fail('OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1');
  const serviceName = env['OTEL_SERVICE_NAME']?.trim();
  return {
    // The specification's rule for the signal-less variable: the signal's path is appended to it.
    tracesUrl: `${endpoint.replace(/\/+$/, '')}/v1/traces`,
    headers: keyValues(env, 'OTEL_EXPORTER_OTLP_HEADERS', fail),
    ...(serviceName ? { serviceName } : {}),
    resourceAttributes: keyValues(env, 'OTEL_RESOURCE_ATTRIBUTES', fail),
    sampler,
    samplerRatio,
  };
}

/** The specification's `key=value,key=value` lists, values percent-decoded. */
function keyValues(env: Env, name: string, fail: (message: string) => never): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const part of (env[name] ?? '').split(',')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim();
    if (at < 1 || key === '') fail(`${name}: expected key=value pairs separated by commas`);
    try {
      pairs[key] = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      fail(`${name}: a value is not valid percent-encoding`);
    }
  }
  return pairs;
}
