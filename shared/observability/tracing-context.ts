import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { parseTraceparent } from './trace';

/**
 * The context a W3C `traceparent` names, as a remote parent: the same parser the logs use, so a header the
 * fleet ignores for its log trace ids is ignored here too. No header (or a malformed one): a new trace.
 */
export function remoteParent(traceparent: unknown): Context {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: Number.parseInt(parsed.flags, 16),
    isRemote: true,
  });
}

/** The `traceparent` of a span's context, as the fleet carries it in message headers and outbox entries. */
export function traceparentOf(context: Context): string | undefined {
  const span = trace.getSpan(context);
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}
