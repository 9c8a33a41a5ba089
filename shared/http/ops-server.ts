import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { registerReadinessGauge } from '../observability/readiness-metric';
import { HEALTH_RESPONSES, METRICS_RESPONSES, READINESS_RESPONSES } from './ops-schemas';
import { requireOpsToken } from './ops-auth';
import { createHttpServer, type HttpServerOptions } from './server';

export interface ReadinessCheck {
  name: string;
  ok: () => boolean;
  /** What the check found, added to the `/readyz` body under `details.<name>` (e.g. the missing queues). */
  detail?: () => unknown;
}

export interface OpsServerOptions extends HttpServerOptions {
  /**
   * `OPS_TOKEN`: required by every route but the probes and the scrape (shared/http/ops-auth.ts), reads included.
   * @defaultValue none: admin routes open (only with AUTH_MODE=off and no OPS_TOKEN: a laptop)
   */
  opsToken?: string;
}

/**
 * The ops server every service runs: `/healthz` (the process answers), `/readyz` (broker, Redis and consumers
 * up), `/metrics` (Prometheus), plus the admin routes its service adds, which need the ops token to read or write.
 */
export function createOpsServer(
  registry: Registry,
  checks: readonly ReadinessCheck[],
  liveness: readonly ReadinessCheck[] = [],
  options: OpsServerOptions = {},
): FastifyInstance {
  const { opsToken, ...http } = options;
  const app = createHttpServer(http);
  if (opsToken !== undefined) requireOpsToken(app, opsToken);
  registerReadinessGauge(registry, checks);
  opsRoutes(app, registry, checks, liveness);
  return app;
}

/** The routes every ops server has, on `app` (the contracts generator describes them on an app of its own). */
export function opsRoutes(
  app: FastifyInstance,
  registry: Registry,
  checks: readonly ReadinessCheck[],
  liveness: readonly ReadinessCheck[] = [],
): void {
  // Liveness fails only on what a restart can mend (a consumer that could not recover within its deadline), so an
  // orchestrator restarts the process; a broker or Redis outage alone leaves it live (a restart would not help).
  app.get('/healthz', { schema: { response: HEALTH_RESPONSES } }, async (_req, reply) => {
    const failed = liveness.filter((c) => !c.ok()).map((c) => c.name);
    return failed.length === 0 ? { status: 'ok' } : reply.code(503).send({ status: 'unhealthy', failed });
  });
  app.get('/readyz', { schema: { response: READINESS_RESPONSES } }, async (_req, reply) => {
    const results = Object.fromEntries(checks.map((c) => [c.name, c.ok()]));
    const ready = checks.every((c) => results[c.name]);
    const details = Object.fromEntries(checks.filter((c) => c.detail).map((c) => [c.name, c.detail!()]));
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: results, ...(Object.keys(details).length > 0 ? { details } : {}) });
  });
  app.get('/metrics', { schema: { response: METRICS_RESPONSES } }, async (_req, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}
