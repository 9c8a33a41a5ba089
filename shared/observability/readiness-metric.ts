import { Gauge, type Registry } from 'prom-client';

export interface ReadinessProbe {
  name: string;
  ok: () => boolean;
}

/**
 * `warren_readiness_check{check}`: the `/readyz` checks as a gauge (1 passing, 0 failing), evaluated at scrape
 * time, so an alert sees a service that is up but not ready (broker or Redis lost, a consumer cancelled).
 */
export function registerReadinessGauge(registry: Registry, checks: readonly ReadinessProbe[]): Gauge<'check'> {
  return new Gauge({
    name: 'warren_readiness_check',
    help: 'Readiness checks of /readyz (amqpPublish, amqpConsume, redis, redisWrites, consumers): 1 passing, 0 failing.',
    labelNames: ['check'] as const,
    registers: [registry],
    collect() {
      for (const check of checks) this.labels(check.name).set(check.ok() ? 1 : 0);
    },
  });
}
