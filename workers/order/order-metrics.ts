import { Counter, Histogram, type Registry } from 'prom-client';
import { SLOW_BUCKETS, FAST_BUCKETS } from '../../shared/observability/metrics';

/** The order service's business metrics, beside the shared messaging ones. */
export function createOrderMetrics(registry: Registry) {
  const registers = [registry];
  return {
    placed: new Counter({ name: 'warren_orders_placed_total', help: 'Orders accepted, by source (api, event).', labelNames: ['source'] as const, registers }),
    confirmed: new Counter({ name: 'warren_orders_confirmed_total', help: 'Orders confirmed.', registers }),
    cancelled: new Counter({ name: 'warren_orders_cancelled_total', help: 'Orders cancelled, by reason.', labelNames: ['reason'] as const, registers }),
    sagaSeconds: new Histogram({ name: 'warren_saga_duration_seconds', help: 'From order placed to confirmed or cancelled.', labelNames: ['outcome'] as const, buckets: SLOW_BUCKETS, registers }),
    httpSeconds: new Histogram({ name: 'warren_http_request_duration_seconds', help: 'Order API request duration, by method, route and status.', labelNames: ['method', 'route', 'status'] as const, buckets: FAST_BUCKETS, registers }),
    outboxRelayed: new Counter({ name: 'warren_outbox_relayed_total', help: 'Events the outbox relay published after the fast path did not.', registers }),
  };
}

export type OrderMetrics = ReturnType<typeof createOrderMetrics>;
