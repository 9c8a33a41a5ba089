import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME, ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/**
 * Runs one Redis operation of the message path (shared/redis/client.ts `timed`) under a CLIENT span
 * `redis <operation>`, named by Warren's operation (`order_create`, `inventory_reserve`, `claim_acquire`), not the
 * command: one operation is a script or a few pipelined commands. Only under a request or a delivery: the
 * background loops' polling would otherwise open a trace of its own every few hundred milliseconds. Keys and
 * arguments are never recorded (they hold order ids and payloads).
 */
export async function traceRedis<T>(tracer: Tracer, operation: string, run: () => Promise<T>): Promise<T> {
  const parent = context.active();
  if (!trace.getSpan(parent)) return run();
  const span = tracer.startSpan(
    `redis ${operation}`,
    { kind: SpanKind.CLIENT, attributes: { [ATTR_DB_SYSTEM_NAME]: 'redis', [ATTR_DB_OPERATION_NAME]: operation } },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), run);
  } catch (error) {
    span.setAttribute(ATTR_ERROR_TYPE, error instanceof Error ? error.name : 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
