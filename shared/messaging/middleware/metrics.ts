import { performance } from 'node:perf_hooks';
import { eventTypeLabel, labelled, type Metrics } from '../../observability/metrics';
import type { Middleware } from '../context';

/** Handler duration by outcome, and event lag (now − event timestamp) at the moment of consumption. */
export function metricsMiddleware(metrics: Metrics): Middleware {
  const lag = labelled(metrics.eventLagSeconds);
  const duration = labelled(metrics.handlerSeconds);
  return (ctx, next) => {
    const { queue, event } = ctx;
    const eventType = eventTypeLabel(event.eventType);
    const lagMs = Date.now() - Date.parse(event.timestamp);
    if (Number.isFinite(lagMs)) lag(queue, eventType).observe(Math.max(0, lagMs) / 1000);
    // performance.now(), not hrtime.bigint(): no BigInt per delivery, and sub-microsecond is finer than the buckets.
    const started = performance.now();
    const observe = (label: string) => duration(queue, eventType, label).observe((performance.now() - started) / 1000);
    return next().then(
      (outcome) => {
        observe(outcome === 'duplicate' ? 'duplicate' : 'ok');
        return outcome;
      },
      (error: unknown) => {
        observe('error');
        throw error;
      },
    );
  };
}
