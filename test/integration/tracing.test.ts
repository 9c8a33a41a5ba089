import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PAYMENT_QUEUE } from '../../workers/payment/service';
import { SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { http, orderRequest } from '../helpers/api';
import { awaitFinal } from '../helpers/invariants';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { ProcessFleet } from '../helpers/process-fleet';
import { waitFor } from '../helpers/wait';

/** One order's trace, with the lookups the assertions need. */
class Trace {
  constructor(readonly spans: ReceivedSpan[]) {}

  byId(id: string): ReceivedSpan | undefined {
    return this.spans.find((s) => s.spanId === id);
  }

  parentOf(span: ReceivedSpan): ReceivedSpan {
    const parent = this.byId(span.parentSpanId);
    assert.ok(parent, `span "${span.name}" (${span.service}) has parent ${span.parentSpanId || '(none)'}, not in its trace`);
    return parent;
  }

  /** The CONSUMER spans of one service for one event type, in attempt order. */
  processed(service: string, eventType: string): ReceivedSpan[] {
    return this.spans
      .filter((s) => s.kind === 'CONSUMER' && s.service === service && s.attributes['warren.event.type'] === eventType)
      .sort((a, b) => Number(a.attributes['warren.attempt']) - Number(b.attributes['warren.attempt']));
  }

  /** The PRODUCER span of one service's publish of an event type onto the events exchange. */
  published(service: string, eventType: string): ReceivedSpan {
    const found = this.spans.filter(
      (s) =>
        s.kind === 'PRODUCER' &&
        s.service === service &&
        s.attributes['warren.event.type'] === eventType &&
        s.attributes['messaging.destination.name'] === 'warren.events',
    );
    assert.equal(found.length, 1, `${service} publishes ${eventType} once in the trace, got ${found.length}`);
    return found[0]!;
  }
}

/** Every span in the trace of an order: the trace its deliveries' spans (conversation id = order id) are in. */
function traceOf(receiver: OtlpReceiver, orderId: string): Trace {
  const ids = new Set(receiver.spans.filter((s) => s.attributes['messaging.message.conversation_id'] === orderId).map((s) => s.traceId));
  assert.equal(ids.size, 1, `the spans of order ${orderId} are in ${ids.size} traces`);
  const [traceId] = [...ids];
  return new Trace(receiver.spans.filter((s) => s.traceId === traceId));
}

/** The hops of a confirmed order, as (consumer service, event type, publishing service). */
const HOPS = [
  ['inventory', 'OrderPlaced', 'order'],
  ['payment', 'OrderPlaced', 'order'],
  ['order', 'OrderPlaced', 'order'],
  ['order', 'InventoryReserved', 'inventory'],
  ['order', 'PaymentCaptured', 'payment'],
  ['inventory', 'OrderConfirmed', 'order'],
] as const;

/** Each service's queue (one each), from the registry: a service added since consumes its own. */
const QUEUE_OF: Record<string, string> = Object.fromEntries(SERVICE_DECLARATIONS.map((s) => [s.name, s.consumes[0]!.name]));

/** The whole journey is there, parented hop by hop, and every span's parent is in the trace. */
function assertJourney(trace: Trace, orderId: string): ReceivedSpan {
  const hopsSeen = HOPS.every(([service, eventType]) => trace.processed(service, eventType).length > 0);
  assert.ok(hopsSeen, `order ${orderId}: a hop is missing from ${trace.spans.map((s) => `${s.service}:${s.name}`).join(', ')}`);
  // The three services at least; any other service of the registry that consumes these events joins the trace.
  const services = new Set(trace.spans.map((s) => s.service));
  for (const service of ['order', 'inventory', 'payment']) assert.ok(services.has(service), `${service} spans`);
  for (const service of services) assert.ok((SERVICE_NAMES as readonly string[]).includes(service), `${service} is a service`);

  const request = trace.spans.filter((s) => s.kind === 'SERVER');
  assert.equal(request.length, 1, 'one HTTP request span');
  const server = request[0]!;
  assert.equal(server.service, 'order');
  assert.equal(server.name, 'POST /orders');
  assert.equal(server.attributes['http.route'], '/orders');
  assert.equal(server.attributes['http.response.status_code'], 202);

  // The request publishes OrderPlaced; each consumer of it is that publish's child.
  const placed = trace.published('order', 'OrderPlaced');
  assert.equal(trace.parentOf(placed).spanId, server.spanId, 'publish order.placed is a child of the request');
  assert.equal(placed.name, 'publish order.placed');
  for (const [service, eventType, publisher] of HOPS) {
    for (const consumed of trace.processed(service, eventType)) {
      assert.equal(consumed.name, `process ${QUEUE_OF[service]}`);
      const parent = trace.parentOf(consumed);
      assert.equal(parent.kind, 'PRODUCER', `${service} ${eventType}: parent is a publish`);
      assert.equal(parent.attributes['messaging.message.id'], consumed.attributes['messaging.message.id'], 'the same message');
      // A first delivery's parent is the publisher's publish; a retry's is the copy its consumer sent to the retry tier.
      assert.equal(parent.service, Number(consumed.attributes['warren.attempt']) === 1 ? publisher : service);
      assert.equal(consumed.attributes['messaging.message.conversation_id'], orderId);
    }
  }
  // Each outcome is published from within the delivery that caused it.
  const delivered = (service: string, eventType: string) => trace.processed(service, eventType).map((s) => s.spanId);
  assert.ok(delivered('inventory', 'OrderPlaced').includes(trace.published('inventory', 'InventoryReserved').parentSpanId));
  assert.ok(delivered('payment', 'OrderPlaced').includes(trace.published('payment', 'PaymentCaptured').parentSpanId));
  const confirmedUnder = trace.published('order', 'OrderConfirmed').parentSpanId;
  assert.ok(
    [...delivered('order', 'InventoryReserved'), ...delivered('order', 'PaymentCaptured')].includes(confirmedUnder),
    'OrderConfirmed is published by the delivery that completed the saga',
  );

  // Redis calls are children of the request or delivery they ran for.
  const redis = trace.spans.filter((s) => s.kind === 'CLIENT');
  for (const service of ['order', 'inventory', 'payment'])
    assert.ok(
      redis.some((s) => s.service === service),
      `${service} Redis spans`,
    );
  for (const call of redis) {
    assert.equal(call.attributes['db.system.name'], 'redis');
    assert.ok(['SERVER', 'CONSUMER'].includes(trace.parentOf(call).kind), `${call.name} runs under a request or delivery`);
  }
  // No dangling parents: every span but the request has its parent in the trace.
  for (const span of trace.spans) if (span !== server) trace.parentOf(span);
  return server;
}

function assertMessagingAttributes(trace: Trace): void {
  for (const span of trace.spans.filter((s) => s.kind === 'PRODUCER' || s.kind === 'CONSUMER')) {
    const a = span.attributes;
    assert.equal(a['messaging.system'], 'rabbitmq', span.name);
    assert.equal(a['messaging.operation.name'], span.kind === 'PRODUCER' ? 'publish' : 'process');
    assert.equal(a['messaging.operation.type'], span.kind === 'PRODUCER' ? 'send' : 'process');
    assert.equal(typeof a['messaging.destination.name'], 'string');
    assert.equal(typeof a['messaging.rabbitmq.destination.routing_key'], 'string');
    assert.ok(String(a['messaging.message.id'] ?? '').length > 0, `${span.name}: message id`);
    if (span.kind === 'CONSUMER') assert.equal(a['messaging.destination.subscription.name'], QUEUE_OF[span.service]);
  }
}

describe('OpenTelemetry tracing (real broker, services as processes, OTLP decoded): one trace per order', function () {
  this.timeout(120_000);
  let receiver: OtlpReceiver;
  let fleet: ProcessFleet;

  before(async () => {
    receiver = await OtlpReceiver.start();
    fleet = await ProcessFleet.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/OTEL-1`, { available: 10 });
  });
  after(async () => {
    await fleet?.stop();
    await receiver?.close();
  });

  it('spans the three services, hop by hop, with a retried payment in the same trace and no payment token', async () => {
    const client = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
    const place = async (paymentToken: string, headers: Record<string, string> = {}) => {
      const r = await http(
        'POST',
        `${fleet.urls.api}/orders`,
        orderRequest({ items: [{ productId: 'OTEL-1', quantity: 1 }], paymentToken }),
        headers,
      );
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.orderId as string;
    };
    const plain = await place('tok_visa', { traceparent: `00-${client.traceId}-${client.spanId}-01` });
    // tok_flaky: the simulated gateway times out on the first two calls for the order, so payment retries twice.
    const flaky = await place('tok_flaky');
    const outcomes = await awaitFinal(fleet.urls.api, [plain, flaky]);
    assert.equal(outcomes.get(plain)!.status, 'CONFIRMED');
    assert.equal(outcomes.get(flaky)!.status, 'CONFIRMED');
    // The last hop (inventory commits) may still be in flight, and each service exports its spans in batches:
    // wait until both journeys are whole (the probe's last failed assertion is reported if they never are).
    const journey = async (orderId: string) =>
      waitFor(`the whole journey of order ${orderId} exported`, () => {
        const trace = traceOf(receiver, orderId);
        return { trace, server: assertJourney(trace, orderId) };
      });
    const { trace: plainTrace, server } = await journey(plain);
    assert.equal(server.traceId, client.traceId, "the client's trace is continued");
    assert.equal(server.parentSpanId, client.spanId, "the request span is a child of the client's");
    assertMessagingAttributes(plainTrace);

    const { trace: flakyTrace } = await journey(flaky);
    assert.notEqual(flakyTrace.spans[0]!.traceId, plainTrace.spans[0]!.traceId, 'an order without a traceparent gets its own trace');
    assertMessagingAttributes(flakyTrace);
    const charges = flakyTrace.processed('payment', 'OrderPlaced');
    assert.deepEqual(
      charges.map((s) => [s.attributes['warren.attempt'], s.statusCode, s.attributes['error.type'] ?? '']),
      [
        [1, 2, 'GatewayUnavailableError'],
        [2, 2, 'GatewayUnavailableError'],
        [3, 0, ''],
      ],
    );
    // Each failed attempt sends the retry copy from within its own span; the next attempt is that copy's child.
    for (const [i, failed] of charges.slice(0, 2).entries()) {
      const retry = flakyTrace.parentOf(charges[i + 1]!);
      assert.equal(retry.kind, 'PRODUCER');
      assert.equal(retry.attributes['messaging.destination.name'], `${PAYMENT_QUEUE}.failures`);
      assert.equal(retry.parentSpanId, failed.spanId);
    }
    assert.equal(flakyTrace.parentOf(charges[0]!).spanId, flakyTrace.published('order', 'OrderPlaced').spanId);
    assert.equal(receiver.rejected, 0, 'every export request decoded');

    const withToken = receiver.spans.filter((s) => Object.values(s.attributes).some((v) => /tok_/.test(String(v))));
    assert.deepEqual(
      withToken.map((s) => s.name),
      [],
      'no span attribute carries a payment token',
    );
    const resource = receiver.spans.every((s) => (SERVICE_NAMES as readonly string[]).includes(s.service));
    assert.ok(resource, 'OTEL_SERVICE_NAME defaults to the service name');
  });
});
