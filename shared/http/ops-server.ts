import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { registerReadinessGauge } from '../observability/readiness-metric';
import { createHttpServer } from './server';

export interface ReadinessCheck {
  name: string;
  ok: () => boolean;
}

/**
 * The ops server every service runs: `/healthz` (the process answers), `/readyz` (broker, Redis and consumers
 * up), `/metrics` (Prometheus), plus the admin routes its service adds.
 */
export function createOpsServer(registry: Registry, checks: readonly ReadinessCheck[]): FastifyInstance {
  const app = createHttpServer();
  registerReadinessGauge(registry, checks);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const results = Object.fromEntries(checks.map((c) => [c.name, c.ok()]));
    const ready = Object.values(results).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
  return app;
}
