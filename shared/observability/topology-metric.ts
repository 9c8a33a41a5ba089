import { Gauge, type Registry } from 'prom-client';

/**
 * `warren_topology_missing{kind,name}`: 1 while an exchange or queue this service needs is missing on the broker
 * (the operator's topology step has not declared it), evaluated at scrape time. A series that was missing once
 * reads 0 after it is declared, so an alert resolves instead of going stale. The names come from the service's
 * own topology only: the label set is bounded.
 */
export function registerTopologyMissingGauge(registry: Registry, missing: () => readonly string[]): Gauge<'kind' | 'name'> {
  const seen = new Set<string>();
  return new Gauge({
    name: 'warren_topology_missing',
    help: 'Exchanges and queues this service needs that the broker lacks (1 missing, 0 declared since), by kind and name.',
    labelNames: ['kind', 'name'] as const,
    registers: [registry],
    collect() {
      const now = new Set(missing());
      for (const resource of new Set([...seen, ...now])) {
        const [kind, name] = resource.split(' ') as [string, string];
        this.labels(kind, name).set(now.has(resource) ? 1 : 0);
        seen.add(resource);
      }
    },
  });
}
