import { Type } from '@sinclair/typebox';

/** `/healthz`: live, or which liveness checks failed (a restart would mend them). */
const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unhealthy')]),
  failed: Type.Optional(Type.Array(Type.String(), { description: 'the liveness checks that failed' })),
});

/** `/readyz`: each check's result, and what the checks that explain themselves found (e.g. the missing queues). */
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  checks: Type.Record(Type.String(), Type.Boolean(), { description: 'amqpPublish, amqpConsume, redis, redisWrites, consumers, topology' }),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

/** The responses of the ops routes, by status: what Fastify serializes with and the OpenAPI document shows. */
export const HEALTH_RESPONSES = {
  200: { description: 'the process is live', ...Health },
  503: { description: 'a consumer could not recover within its deadline: restart the process', ...Health },
};

export const READINESS_RESPONSES = {
  200: { description: 'broker, Redis, every consumer and the whole topology are there', ...Readiness },
  503: { description: 'not ready to take work', ...Readiness },
};

export const METRICS_RESPONSES = {
  200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: Type.String() } } },
};
