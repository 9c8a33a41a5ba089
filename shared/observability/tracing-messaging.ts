import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { Message, Options } from 'amqplib';
import type { TraceContext } from './trace';
import { traceContextOf, tracer } from './tracing';
import { remoteParent, traceparentOf } from './tracing-context';

// The messaging conventions are still "development" in @opentelemetry/semantic-conventions (only under its
// unstable `incubating` entry point, which may rename them in a minor release), so their names are spelt here.
const MESSAGING_SYSTEM = 'messaging.system';
const OPERATION_NAME = 'messaging.operation.name';
const OPERATION_TYPE = 'messaging.operation.type';
const DESTINATION_NAME = 'messaging.destination.name';
const SUBSCRIPTION_NAME = 'messaging.destination.subscription.name';
const ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';
const DELIVERY_TAG = 'messaging.rabbitmq.message.delivery_tag';
const MESSAGE_ID = 'messaging.message.id';
const CONVERSATION_ID = 'messaging.message.conversation_id';
const BODY_SIZE = 'messaging.message.body.size';
/** Warren's own: the event type (also the AMQP `type` property) and the delivery attempt (1, then each retry). */
const EVENT_TYPE = 'warren.event.type';
const ATTEMPT = 'warren.attempt';

/** What a publish needs of its properties for its span; nothing else of the message (never its body) is read. */
interface PublishedProperties extends Options.Publish {
  messageId: string;
}

/**
 * Runs one publish under a PRODUCER span `publish <routing key>` and hands it the properties to send, whose
 * `traceparent` header now names that span, so the consumer's span is its child. The parent is the span the
 * publish runs under (a request, a delivery, including a failed delivery's retry copy) or, with none active (the
 * outbox relay), the `traceparent` the caller gave: the request or delivery that wrote the outbox entry.
 * Span names use the routing key, not the exchange: every event goes through one exchange, and its routing key
 * (one per event type) is what tells the spans of one trace apart.
 */
export async function tracePublish<P extends PublishedProperties>(
  tracer: Tracer,
  exchange: string,
  routingKey: string,
  bodySize: number,
  properties: P,
  publish: (properties: P) => Promise<void>,
): Promise<void> {
  const active = context.active();
  const parent = trace.getSpan(active) ? active : remoteParent(properties.headers?.['traceparent']);
  const attributes: Attributes = {
    [MESSAGING_SYSTEM]: 'rabbitmq',
    [OPERATION_NAME]: 'publish',
    [OPERATION_TYPE]: 'send',
    [DESTINATION_NAME]: exchange,
    [ROUTING_KEY]: routingKey,
    [MESSAGE_ID]: properties.messageId,
    [BODY_SIZE]: bodySize,
  };
  if (properties.correlationId) attributes[CONVERSATION_ID] = properties.correlationId;
  if (properties.type) attributes[EVENT_TYPE] = properties.type;
  const span = tracer.startSpan(`publish ${routingKey}`, { kind: SpanKind.PRODUCER, attributes }, parent);
  const spanContext = trace.setSpan(parent, span);
  const headers = { ...properties.headers, traceparent: traceparentOf(spanContext) };
  try {
    await context.with(spanContext, () => publish({ ...properties, headers }));
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Runs one delivery under a CONSUMER span `process <queue>`, child of the publish span its `traceparent` names;
 * the handler's Redis calls and publishes, and a retry or dead-letter copy, are its children. `process` gets the
 * span's trace context for the fleet's log lines and outbox entries; an outcome other than `success` marks it an error.
 */
export async function traceProcess<T>(
  tracer: Tracer,
  msg: Message,
  queue: string,
  attempt: number,
  process: (span: TraceContext) => Promise<T>,
): Promise<T> {
  const parent = remoteParent(msg.properties.headers?.['traceparent']);
  const { messageId, correlationId, type } = msg.properties as { messageId?: string; correlationId?: string; type?: string };
  const attributes: Attributes = {
    [MESSAGING_SYSTEM]: 'rabbitmq',
    [OPERATION_NAME]: 'process',
    [OPERATION_TYPE]: 'process',
    [DESTINATION_NAME]: msg.fields.exchange,
    [ROUTING_KEY]: msg.fields.routingKey,
    [SUBSCRIPTION_NAME]: queue,
    [DELIVERY_TAG]: msg.fields.deliveryTag,
    [BODY_SIZE]: msg.content.length,
    [ATTEMPT]: attempt,
  };
  if (messageId) attributes[MESSAGE_ID] = messageId;
  if (correlationId) attributes[CONVERSATION_ID] = correlationId;
  if (type) attributes[EVENT_TYPE] = type;
  const span = tracer.startSpan(`process ${queue}`, { kind: SpanKind.CONSUMER, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => process(traceContextOf(span)));
  } finally {
    span.end();
  }
}

/** Marks the delivery's span failed with the error's class (a retry, or a dead-letter); no-op while tracing is off. */
export function recordDeliveryFailure(error: unknown): void {
  if (!tracer) return;
  const span = trace.getActiveSpan();
  if (span) failed(span, error);
}

function failed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : 'Error';
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
