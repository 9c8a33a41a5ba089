import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SLOW_BUCKETS, FAST_BUCKETS } from '../../shared/observability/metrics';

/** Redis reads behind the order service's gauges, sampled at scrape time. */
export interface OrderProbes {
  /** Events in the outbox not yet confirmed by the broker. */
  outboxDepth(): Promise<number>;
  /** Orders still waiting for their outcomes (each has a running deadline). */
  openOrders(): Promise<number>;
}

/** A scrape must not hang on Redis: after this, the gauge keeps its last value. */
const PROBE_TIMEOUT_MS = 1000;

/** The order service's business metrics, beside the shared messaging ones. */
export function createOrderMetrics(registry: Registry, probes?: OrderProbes) {
  const registers = [registry];
  return {
    placed: new Counter({
      name: 'warren_orders_placed_total',
      help: 'Orders accepted, by source (api, event).',
      labelNames: ['source'] as const,
      registers,
    }),
    // No customer label: customers are unbounded (a token's subject is the caller's choice); each refusal's log line names it.
    rateLimited: new Counter({
      name: 'warren_orders_rate_limited_total',
      help: 'POST /orders refused with 429: the customer had placed ORDER_RATE_LIMIT orders in its window.',
      registers,
    }),
    confirmed: new Counter({ name: 'warren_orders_confirmed_total', help: 'Orders confirmed.', registers }),
    cancelled: new Counter({
      name: 'warren_orders_cancelled_total',
      help: 'Orders cancelled, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    sagaSeconds: new Histogram({
      name: 'warren_saga_duration_seconds',
      help: 'From order placed to confirmed or cancelled.',
      labelNames: ['outcome'] as const,
      buckets: SLOW_BUCKETS,
      registers,
    }),
    httpSeconds: new Histogram({
      name: 'warren_http_request_duration_seconds',
      help: 'Order API request duration, by method, route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: FAST_BUCKETS,
      registers,
    }),
    sweepParked: new Counter({
      name: 'warren_order_sweep_parked_total',
      help: 'Orders the deadline sweep took off the clock because they can never be settled (ORDER_INVALID), by reason code.',
      labelNames: ['reason_code'] as const,
      registers,
    }),
    sweepPostponed: new Counter({
      name: 'warren_order_sweep_postponed_total',
      help: 'Deadline sweeps of an order that failed transiently and were moved back, so the orders behind it went first.',
      registers,
    }),
    outboxRelayed: new Counter({
      name: 'warren_outbox_relayed_total',
      help: 'Events the outbox relay published after the fast path did not.',
      registers,
    }),
    outboxDepth: new Gauge({
      name: 'warren_outbox_depth',
      help: 'Events in the order outbox not yet confirmed by the broker (sampled from Redis at scrape).',
      registers,
      async collect() {
        await sample(this, probes?.outboxDepth);
      },
    }),
    openOrders: new Gauge({
      name: 'warren_orders_open',
      help: 'Orders placed and not yet confirmed or cancelled (sampled from Redis at scrape).',
      registers,
      async collect() {
        await sample(this, probes?.openOrders);
      },
    }),
  };
}

async function sample(gauge: Gauge, probe: (() => Promise<number>) | undefined): Promise<void> {
  if (!probe) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PROBE_TIMEOUT_MS)));
  try {
    const value = await Promise.race([probe(), timeout]);
    if (value !== undefined) gauge.set(value);
  } catch {
    // Redis is away: keep the last value; warren_redis_errors_total and readiness say why.
  } finally {
    clearTimeout(timer);
  }
}

export type OrderMetrics = ReturnType<typeof createOrderMetrics>;
