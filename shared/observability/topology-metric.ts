import { Gauge, type Registry } from 'prom-client';
import type { QueueDrift } from '../messaging/topology-drift';

/**
 * `warren_topology_drift{queue,argument}`: 1 while an existing queue's argument differs from what this service
 * declares, evaluated at scrape time. A series that drifted once reads 0 after the queue was migrated, so an
 * alert resolves instead of going stale.
 */
export function registerTopologyDriftGauge(registry: Registry, drift: () => readonly QueueDrift[]): Gauge<'queue' | 'argument'> {
  const seen = new Set<string>();
  return new Gauge({
    name: 'warren_topology_drift',
    help: 'Queue arguments on the broker that differ from what the service declares (1 drifting, 0 resolved), by queue and argument.',
    labelNames: ['queue', 'argument'] as const,
    registers: [registry],
    collect() {
      const now = new Set(drift().map((d) => `${d.queue}\u0000${d.argument}`));
      for (const key of new Set([...seen, ...now])) {
        const [queue, argument] = key.split('\u0000') as [string, string];
        this.labels(queue, argument).set(now.has(key) ? 1 : 0);
        seen.add(key);
      }
    },
  });
}
