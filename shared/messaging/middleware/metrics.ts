import { eventTypeLabel, labelled, type Metrics } from '../../observability/metrics';
import type { Middleware } from '../context';

/** Handler duration by outcome, and event lag (now − event timestamp) at the moment of consumption. */
export function metricsMiddleware(metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const { queue, event } = ctx;
    const eventType = eventTypeLabel(event.eventType);
    const lagMs = Date.now() - Date.parse(event.timestamp);
    if (Number.isFinite(lagMs)) labelled(metrics.eventLagSeconds)(queue, eventType).observe(Math.max(0, lagMs) / 1000);
    const started = process.hrtime.bigint();
    let label = 'error';
    try {
      const outcome = await next();
      label = outcome === 'duplicate' ? 'duplicate' : 'ok';
      return outcome;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      labelled(metrics.handlerSeconds)(queue, eventType, label).observe(seconds);
    }
  };
}
