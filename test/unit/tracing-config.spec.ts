import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config/config';
import { tracer } from '../../shared/observability/tracing';

describe('tracing variables (OTEL_*)', () => {
  it('is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and then no tracer exists', () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ', OTEL_TRACES_SAMPLER: 'always_off' }).tracing, undefined);
    assert.equal(tracer, undefined);
  });

  it('reads the endpoint, headers, service name, resource attributes and sampler', () => {
    const { tracing } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D, tenant=warren',
      OTEL_SERVICE_NAME: 'orders-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    assert.deepEqual(tracing, {
      tracesUrl: 'https://collector.example:4318/v1/traces',
      headers: { 'x-api-key': 'abc==', tenant: 'warren' },
      serviceName: 'orders-eu',
      resourceAttributes: { 'deployment.environment.name': 'staging' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
    const defaults = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).tracing;
    assert.equal(defaults?.sampler, 'parentbased_always_on');
    assert.equal(defaults?.samplerRatio, 1);
    assert.equal(defaults?.serviceName, undefined, "the service's own name is used");
  });

  it('stops with one line naming the variable, never echoing a header value', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    const cases: [Record<string, string>, RegExp][] = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }, /^Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }, /^Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT: /],
      [{ ...endpoint, OTEL_TRACES_SAMPLER: 'jaeger_remote' }, /^Invalid configuration: OTEL_TRACES_SAMPLER: expected one of /],
      [{ ...endpoint, OTEL_TRACES_SAMPLER_ARG: '2' }, /^Invalid configuration: OTEL_TRACES_SAMPLER_ARG: /],
      [{ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: 'secret-key-without-equals' }, /^Invalid configuration: OTEL_EXPORTER_OTLP_HEADERS: /],
      [{ ...endpoint, OTEL_RESOURCE_ATTRIBUTES: 'a=%zz' }, /^Invalid configuration: OTEL_RESOURCE_ATTRIBUTES: /],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: Error) =>
          error instanceof ConfigError && message.test(error.message) && !error.message.includes('secret-key') && !/\n/.test(error.message),
        JSON.stringify(env),
      );
    }
  });
});
