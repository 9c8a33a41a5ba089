import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isEventType } from '../events/catalog';

/** Buckets for handlers and publishes that usually take a few milliseconds. */
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets for lags and sagas, which span milliseconds to minutes. */
const SLOW_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Every metric the shared library records, all named `warren_…`, labelled only by low-cardinality values
 * (service, queue, event type, outcome): never an order id.
 */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'warren_' });
  const r = [registry];
  // Read when scraped, not set on every publish (a set cost ~300 B of garbage a message): each publisher adds its depth.
  const publishBufferDepths = new Set<() => number>();
  return {
    registry,
    publishBufferDepths,
    consumed: new Counter({
      name: 'warren_messages_consumed_total',
      help: 'Messages consumed, by queue, event type and outcome (ack, retry, deferred, dead_letter, duplicate).',
      labelNames: ['queue', 'event_type', 'outcome'] as const,
      registers: r,
    }),
    deadLettered: new Counter({
      name: 'warren_messages_dead_lettered_total',
      help: 'Messages sent to a dead-letter queue, by queue, event type and reason code (e.g. SCHEMA_VIOLATION, RETRIES_EXHAUSTED).',
      labelNames: ['queue', 'event_type', 'reason_code'] as const,
      registers: r,
    }),
    published: new Counter({
      name: 'warren_messages_published_total',
      help: 'Messages published, by routing key, event type and outcome (confirmed, nacked, returned, timeout, buffer_full).',
      labelNames: ['routing_key', 'event_type', 'outcome'] as const,
      registers: r,
    }),
    publishConfirmSeconds: new Histogram({
      name: 'warren_publish_confirm_seconds',
      help: 'Time from publish to the broker confirm.',
      labelNames: ['routing_key'] as const,
      buckets: FAST_BUCKETS,
      registers: r,
    }),
    handlerSeconds: new Histogram({
      name: 'warren_handler_duration_seconds',
      help: 'Handler duration, by queue, event type and outcome.',
      labelNames: ['queue', 'event_type', 'outcome'] as const,
      buckets: FAST_BUCKETS,
      registers: r,
    }),
    eventLagSeconds: new Histogram({
      name: 'warren_event_lag_seconds',
      help: 'Now minus the event timestamp, at consumption.',
      labelNames: ['queue', 'event_type'] as const,
      buckets: SLOW_BUCKETS,
      registers: r,
    }),
    inFlight: new Gauge({
      name: 'warren_handlers_in_flight',
      help: 'Handlers running now.',
      labelNames: ['queue'] as const,
      registers: r,
    }),
    consumerUp: new Gauge({
      name: 'warren_consumer_up',
      help: '1 while the queue has its broker consumer (or is paused on purpose by its kill switch); 0 while it recovers.',
      labelNames: ['queue'] as const,
      registers: r,
    }),
    consumerRecoveries: new Counter({
      name: 'warren_consumer_recoveries_total',
      help: 'Times a consumer subscribed again after a broker cancel, a channel closed by the broker or a reconnect.',
      labelNames: ['queue'] as const,
      registers: r,
    }),
    consumerPaused: new Gauge({
      name: 'warren_consumer_paused',
      help: "1 while the queue's kill switch holds its deliveries back after consecutive transient failures.",
      labelNames: ['queue'] as const,
      registers: r,
    }),
    publishBuffer: new Gauge({
      name: 'warren_publish_buffer_depth',
      help: 'Publishes waiting for a confirm or a connection.',
      registers: r,
      collect() {
        let depth = 0;
        for (const read of publishBufferDepths) depth += read();
        this.set(depth);
      },
    }),
    connectionUp: new Gauge({
      name: 'warren_amqp_connection_up',
      help: '1 while the named AMQP connection (publish, consume) is open.',
      labelNames: ['connection'] as const,
      registers: r,
    }),
    redisErrors: new Counter({
      name: 'warren_redis_errors_total',
      help: 'Redis commands or connections that failed.',
      labelNames: ['operation'] as const,
      registers: r,
    }),
    redisSeconds: new Histogram({
      name: 'warren_redis_operation_seconds',
      help: 'Latency of the Redis operations on the message path (scripts, claims).',
      labelNames: ['operation'] as const,
      buckets: FAST_BUCKETS,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
export { FAST_BUCKETS, SLOW_BUCKETS };

/**
 * An `event_type` label value: a type of the catalog, or `unknown`. A message's AMQP `type` is whatever its
 * publisher wrote (200 characters, ANSI codes), and each new value would be a new series.
 */
export function eventTypeLabel(value: unknown): string {
  return isEventType(value) ? value : 'unknown';
}

const accessors = new WeakMap<object, (...values: string[]) => unknown>();

/** One level per label: a look-up walks it without building a key string (a join was ~300 B a call). */
interface ChildTree<C> {
  next: Map<string, ChildTree<C>>;
  child?: C;
}

/**
 * A metric's labelled children, each made once (and one accessor per metric). prom-client's `labels()` validates
 * its arguments and binds a new child on every call; on the message path the same few label sets come round
 * thousands of times a second.
 */
export function labelled<C>(metric: { labels(...values: string[]): C }): (...values: string[]) => C {
  let accessor = accessors.get(metric) as ((...values: string[]) => C) | undefined;
  if (!accessor) {
    const root: ChildTree<C> = { next: new Map() };
    accessor = (...values) => {
      let node = root;
      for (const value of values) {
        let below = node.next.get(value);
        if (!below) node.next.set(value, (below = { next: new Map() }));
        node = below;
      }
      return (node.child ??= metric.labels(...values));
    };
    accessors.set(metric, accessor);
  }
  return accessor;
}
