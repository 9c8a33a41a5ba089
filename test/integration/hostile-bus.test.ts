import assert from 'node:assert/strict';
import type { ConsumeMessage } from 'amqplib';
import { describeDeadLetter } from '../../shared/dlq/dead-letter-info';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { drainQueue, publishRaw } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

const PRODUCT = 'HOSTILE-BUS';
const STOCK = 1000;
const QUEUES = ['warren.inventory', 'warren.payment', 'warren.order'] as const;
const now = () => new Date().toISOString();

/** A seed-shaped OrderPlaced (v1), as any publisher on the exchange may send it. */
const v1 = (orderId: string, quantity = 1) => ({
  eventType: 'OrderPlaced',
  orderId,
  items: [{ productId: PRODUCT, quantity }],
  totalAmount: 10,
  timestamp: now(),
});

/** A current OrderPlaced with an eventId of the publisher's choosing (no token: the gateway approves). */
const v3 = (orderId: string, eventId: string, terms: { amount?: number; currency?: string; quantity?: number } = {}) => ({
  eventType: 'OrderPlaced',
  version: 3,
  eventId,
  orderId,
  correlationId: orderId,
  timestamp: now(),
  customerId: 'c-hostile',
  items: [{ productId: PRODUCT, quantity: terms.quantity ?? 1 }],
  totalAmount: terms.amount ?? 10,
  currency: terms.currency ?? 'USD',
});

/**
 * The bus and the state under hostile input, on the real broker and Redis: every class of the security issue's
 * "state and bus" half, then the business invariants over every order that was legitimately placed.
 */
describe('hostile input on the bus and in state (real broker and Redis)', function () {
  this.timeout(180_000);
  let fleet: TestFleet;
  /** Every dead letter read so far, by queue and message id (reading a DLQ empties it). */
  const dead = new Map<string, Map<string, ConsumeMessage>>(QUEUES.map((q) => [q, new Map()]));
  const legit: string[] = [];

  const publish = (routingKey: string, body: unknown, properties: Record<string, unknown> = {}) =>
    publishRaw(fleet.config.amqpUrl, fleet.config.eventsExchange, routingKey, typeof body === 'string' ? body : JSON.stringify(body), {
      contentType: 'application/json',
      ...properties,
    });

  /** Waits until `messageId` is in the DLQ of every queue named, and returns those dead letters. */
  async function deadLettered(messageId: string, queues: readonly (typeof QUEUES)[number][]): Promise<ConsumeMessage[]> {
    return waitFor(`${messageId} in ${queues.join(', ')} DLQs`, async () => {
      for (const queue of queues) {
        if (dead.get(queue)!.has(messageId)) continue;
        for (const m of await drainQueue(fleet.config.amqpUrl, `${queue}.dlq`)) dead.get(queue)!.set(String(m.properties.messageId), m);
      }
      const found = queues.map((q) => dead.get(q)!.get(messageId));
      return found.every(Boolean) ? (found as ConsumeMessage[]) : undefined;
    });
  }

  const reasonCodeOf = (m: ConsumeMessage) => m.properties.headers?.['x-warren-reason-code'];
  const payment = async (orderId: string) => (await http('GET', `${fleet.urls.ops.payment}/payments/${orderId}`)).body;
  const placeOverApi = async (headers: Record<string, string> = {}) => {
    const placed = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: PRODUCT, quantity: 1 }] }), headers);
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    return placed.body.orderId as string;
  };

  before(async () => {
    fleet = await startTestFleet();
    await http('PUT', `${fleet.urls.ops.inventory}/stock/${PRODUCT}`, { available: STOCK });
  });
  after(async () => fleet?.stop());

  it('ids that match internal key names are ordinary orders now, and intake keeps working after them', async () => {
    const named = ['deadlines', 'outbox', 'parked', 'ready', 'idem', 'due'].map((id) => `${id}`);
    for (const id of named) await publish('order.placed', v1(id), { messageId: `named-${id}` });
    const outcomes = await awaitFinal(fleet.urls.api, named);
    for (const id of named) assert.equal(outcomes.get(id)?.status, 'CONFIRMED', id);
    legit.push(...named);
    // What the issue saw: after `deadlines`, every POST /orders answered 503. Now each is taken and ends.
    const after = await Promise.all([placeOverApi(), placeOverApi(), placeOverApi()]);
    for (const o of (await awaitFinal(fleet.urls.api, after)).values()) assert.equal(o.status, 'CONFIRMED');
    legit.push(...after);
  });

  it('an Idempotency-Key that names an internal key is hashed into its own: same key, same order', async () => {
    const key = `order:_deadlines\u0021${'x'.repeat(200)}`;
    const first = await placeOverApi({ 'idempotency-key': key });
    const again = await placeOverApi({ 'idempotency-key': key });
    assert.equal(again, first);
    const keys = await fleet.redis.keys(`${fleet.config.redisKeyPrefix}*_deadlines*`);
    // No key but the deadlines index itself, which Redis removes whenever the last open order ends (an empty zset).
    for (const k of keys) assert.equal(k, `${fleet.config.redisKeyPrefix}order:_deadlines`, 'no key but the deadlines index itself');
    for (const k of keys) assert.ok(['zset', 'none'].includes(await fleet.redis.type(k)), 'the deadlines index is a sorted set');
    legit.push(first);
  });

  it('refuses ids that could reach into another key or overflow a derived id, everywhere, before any effect', async () => {
    const bad = ['_deadlines', 'order:_deadlines', 'a:b', 'L'.repeat(65), 'x\u001b[31m', 'x\ny', ''];
    for (const [i, orderId] of bad.entries()) await publish('order.placed', v1(orderId), { messageId: `bad-id-${i}` });
    for (const i of bad.keys()) {
      for (const m of await deadLettered(`bad-id-${i}`, QUEUES)) assert.equal(reasonCodeOf(m), 'SCHEMA_VIOLATION', `bad-id-${i}`);
    }
    const keys = await fleet.redis.keys(`${fleet.config.redisKeyPrefix}*`);
    for (const orderId of bad.filter(Boolean))
      assert.ok(!keys.some((k) => k.endsWith(`:${orderId}`)), `nothing written for ${JSON.stringify(orderId)}`);
    // The longest id allowed leaves room for everything derived from it: it flows to the end.
    const longest = 'L'.repeat(64);
    await publish('order.placed', v1(longest), { messageId: 'longest-id' });
    assert.equal((await awaitFinal(fleet.urls.api, [longest])).get(longest)?.status, 'CONFIRMED');
    assert.equal((await payment(longest)).captures, 1);
    legit.push(longest);
  });

  it('refuses an OrderPlaced that contradicts the first one seen (amount, currency, lines): DLQ, nothing charged twice', async () => {
    const orderId = `conflict-${Date.now()}`;
    await publish('order.placed', v3(orderId, `${orderId}-first`), { messageId: `${orderId}-first` });
    assert.equal((await awaitFinal(fleet.urls.api, [orderId])).get(orderId)?.status, 'CONFIRMED');
    await publish('order.placed', v3(orderId, `${orderId}-second`, { amount: 999, currency: 'EUR', quantity: 5 }), {
      messageId: `${orderId}-second`,
    });
    const [inventory, paid] = await deadLettered(`${orderId}-second`, ['warren.inventory', 'warren.payment']);
    assert.equal(reasonCodeOf(inventory!), 'CONFLICTING_EVENT');
    assert.equal(reasonCodeOf(paid!), 'CONFLICTING_EVENT');
    const ledger = await payment(orderId);
    assert.deepEqual([ledger.amount, ledger.captures, ledger.refunds], [10, 1, 0]);
    legit.push(orderId);
  });

  it("refuses a conflicting seed-shaped OrderPlaced too, though its derived eventId is the first one's", async () => {
    const orderId = `conflict-v1-${Date.now()}`;
    await publish('order.placed', v1(orderId), { messageId: `${orderId}-first` });
    assert.equal((await awaitFinal(fleet.urls.api, [orderId])).get(orderId)?.status, 'CONFIRMED');
    await publish('order.placed', { ...v1(orderId, 7), totalAmount: 70 }, { messageId: `${orderId}-second` });
    for (const m of await deadLettered(`${orderId}-second`, ['warren.inventory', 'warren.payment']))
      assert.equal(reasonCodeOf(m), 'CONFLICTING_EVENT');
    // Another copy with the first one's terms is no conflict: acked, with no second effect.
    await publish('order.placed', v1(orderId), { messageId: `${orderId}-copy` });
    const ledger = await payment(orderId);
    assert.deepEqual([ledger.amount, ledger.captures, ledger.refunds], [10, 1, 0]);
    legit.push(orderId);
  });

  it('refuses a forged OrderCancelled for a CONFIRMED order: no refund, no stock back', async () => {
    const orderId = await placeOverApi();
    const order = (await awaitFinal(fleet.urls.api, [orderId])).get(orderId)!;
    assert.equal(order.status, 'CONFIRMED');
    const prefix = fleet.config.redisKeyPrefix;
    await waitFor('payment and inventory to have seen OrderConfirmed', async () => {
      const confirmed = await fleet.redis.hget(`${prefix}payment:${orderId}`, 'confirmed');
      const reservation = await fleet.redis.hget(`${prefix}inventory:order:${orderId}`, 'status');
      return (confirmed === '1' && reservation === 'COMMITTED') || undefined;
    });
    const forged = {
      eventType: 'OrderCancelled',
      version: 1,
      eventId: `forged-cancel-${orderId}`,
      orderId,
      correlationId: orderId,
      timestamp: now(),
      reason: 'TIMEOUT',
      items: order.items,
    };
    await publish('order.cancelled', forged, { messageId: forged.eventId });
    const [refused] = await deadLettered(forged.eventId, ['warren.payment']);
    assert.equal(reasonCodeOf(refused!), 'CONFLICTING_EVENT');
    assert.match(String(refused!.properties.headers?.['x-warren-reason']), /CONFIRMED/);
    const ledger = await payment(orderId);
    assert.deepEqual([ledger.status, ledger.captures, ledger.refunds], ['CAPTURED', 1, 0]);
    legit.push(orderId);
  });

  it('charges an order whose OrderPlaced reuses the eventId of another order (idempotency is per order)', async () => {
    const shared = `shared-event-${Date.now()}`;
    const [a, b] = [`reuse-a-${Date.now()}`, `reuse-b-${Date.now()}`];
    await publish('order.placed', v3(a, shared), { messageId: shared });
    assert.equal((await awaitFinal(fleet.urls.api, [a])).get(a)?.status, 'CONFIRMED');
    await publish('order.placed', v3(b, shared), { messageId: shared });
    assert.equal((await awaitFinal(fleet.urls.api, [b])).get(b)?.status, 'CONFIRMED');
    assert.equal((await payment(b)).captures, 1);
    legit.push(a, b);
  });

  it('does not believe forged x-warren-* headers: the DLQ record holds what the service itself saw', async () => {
    await publish('order.placed', '{"eventType": "OrderPlaced", ', {
      messageId: 'forged-headers',
      headers: {
        'x-warren-attempt': 99,
        'x-warren-first-failure-at': '1970-01-01T00:00:00.000Z',
        'x-warren-original-routing-key': 'order.cancelled',
        'x-warren-original-exchange': 'amq.direct',
        'x-warren-replay-count': 1000,
      },
    });
    for (const m of await deadLettered('forged-headers', QUEUES)) {
      const info = describeDeadLetter(m);
      assert.equal(info.attempts, 1);
      assert.notEqual(info.firstFailureAt, '1970-01-01T00:00:00.000Z');
      assert.equal(info.originalRoutingKey, 'order.placed');
      assert.equal(info.originalExchange, fleet.config.eventsExchange);
      assert.equal(info.replayCount, 0);
    }
  });

  it('keeps poison AMQP types (200 characters, ANSI codes) out of every metric label', async () => {
    const types = Array.from({ length: 30 }, (_, i) => `\u001b[31mEvilType${i}\u001b[0m${'x'.repeat(190)}`);
    for (const [i, type] of types.entries()) await publish('order.placed', '{"poison": ', { messageId: `ansi-${i}`, type });
    await deadLettered(`ansi-${types.length - 1}`, QUEUES);
    for (const [service, url] of Object.entries(fleet.urls.ops)) {
      const { body } = await http('GET', `${url}/metrics`);
      assert.ok(!String(body).includes('EvilType'), `${service}: no label from a message's type`);
      assert.ok(!String(body).includes('\u001b'), `${service}: no control character`);
    }
  });

  it('after all of it: no charge without a confirmed order, no refund of a confirmed one, stock consistent, intake working', async () => {
    legit.push(await placeOverApi());
    const outcomes = await awaitFinal(fleet.urls.api, legit);
    await assertInvariants(
      { api: fleet.urls.api, inventory: fleet.urls.ops.inventory, payment: fleet.urls.ops.payment },
      { [PRODUCT]: STOCK },
      outcomes,
    );
    for (const o of outcomes.values()) assert.equal(o.status, 'CONFIRMED', o.orderId);
    const { status, body } = await http('GET', `${fleet.urls.ops.order}/readyz`);
    assert.equal(status, 200, JSON.stringify(body));
    // The simulated gateway's records have a retention, as the ledger does: none is kept for ever.
    const gatewayKeys = await fleet.redis.keys(`${fleet.config.redisKeyPrefix}gateway:*`);
    assert.ok(gatewayKeys.length >= legit.length, 'the gateway holds records of the orders');
    for (const key of gatewayKeys) assert.ok((await fleet.redis.pttl(key)) > 0, `${key} expires`);
  });
});
