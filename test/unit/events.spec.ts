import assert from 'node:assert/strict';
import { EVENT_CATALOG, EVENT_TYPES } from '../../shared/events/catalog';
import { createEvent, decodeEvent } from '../../shared/events/codec';
import { SchemaViolationError, UnknownEventError } from '../../shared/messaging/errors';
import { sealToken } from '../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING } from '../../shared/security/token-keys';

/** The seed document's event, verbatim. */
const SEED = {
  eventType: 'OrderPlaced',
  orderId: '12345',
  items: [
    { productId: 'P001', quantity: 2 },
    { productId: 'P002', quantity: 1 },
  ],
  totalAmount: 150.0,
  timestamp: '2023-10-05T12:00:00Z',
};

describe('event schemas, codec and upcaster', () => {
  it('accepts the seed-shaped OrderPlaced as version 1 and upcasts it to the current version', () => {
    const event = decodeEvent(structuredClone(SEED));
    assert.equal(event.eventType, 'OrderPlaced');
    assert.equal(event.version, 3);
    assert.equal(event.orderId, '12345');
    assert.equal(event.correlationId, '12345');
    assert.equal(event.eventId, 'v1:OrderPlaced:12345', 'a v1 event gets an id derived from its order, the same on every redelivery');
    if (event.eventType !== 'OrderPlaced') throw new Error('unreachable');
    assert.equal(event.currency, 'USD');
    assert.equal(event.sealedPaymentToken, undefined);
    assert.deepEqual(event.items, SEED.items);
  });

  it('round-trips every current event type through createEvent and decodeEvent', () => {
    const payloads: Record<string, Record<string, unknown>> = {
      OrderPlaced: {
        orderId: 'o',
        customerId: 'c',
        items: [{ productId: 'P', quantity: 1 }],
        totalAmount: 1,
        currency: 'EUR',
        sealedPaymentToken: sealToken(DEV_TOKEN_KEYRING, 'tok_visa', 'o'),
      },
      OrderConfirmed: { orderId: 'o', items: [{ productId: 'P', quantity: 1 }], totalAmount: 1, currency: 'EUR' },
      OrderCancelled: { orderId: 'o', reason: 'TIMEOUT', items: [{ productId: 'P', quantity: 1 }] },
      InventoryReserved: { orderId: 'o', items: [{ productId: 'P', quantity: 1 }] },
      InventoryRejected: { orderId: 'o', reason: 'OUT_OF_STOCK', productId: 'P' },
      InventoryReleased: { orderId: 'o', items: [{ productId: 'P', quantity: 1 }] },
      PaymentCaptured: { orderId: 'o', amount: 1, currency: 'EUR', paymentId: 'ch_1' },
      PaymentDeclined: { orderId: 'o', reason: 'CARD_DECLINED' },
      PaymentRefunded: { orderId: 'o', amount: 1, currency: 'EUR', paymentId: 'ch_1' },
    };
    for (const type of EVENT_TYPES) {
      const event = createEvent(type, payloads[type] as never, { correlationId: 'o', causationId: 'cause-1' });
      assert.equal(event.version, EVENT_CATALOG[type].version);
      assert.deepEqual(decodeEvent(JSON.parse(JSON.stringify(event))), event, type);
    }
  });

  it('names the offending field of a schema violation', () => {
    const bad = { ...structuredClone(SEED), items: [{ productId: 'P001', quantity: 'two' }] };
    assert.throws(
      () => decodeEvent(bad),
      (e: unknown) => e instanceof SchemaViolationError && e.field === '/items/0/quantity',
    );
    const missing: Record<string, unknown> = structuredClone(SEED);
    delete missing['totalAmount'];
    assert.throws(
      () => decodeEvent(missing),
      (e: unknown) => e instanceof SchemaViolationError && e.field === '/totalAmount',
    );
  });

  it('rejects unknown event types and versions as permanent errors', () => {
    assert.throws(() => decodeEvent({ ...SEED, eventType: 'OrderShipped' }), UnknownEventError);
    assert.throws(() => decodeEvent({ ...SEED, version: 7 }), UnknownEventError);
    assert.throws(() => decodeEvent([1, 2]), SchemaViolationError);
  });

  it('refuses to build an invalid outgoing event', () => {
    assert.throws(
      () => createEvent('PaymentCaptured', { orderId: 'o', amount: -1, currency: 'EUR', paymentId: 'x' }, { correlationId: 'o' }),
      SchemaViolationError,
    );
  });

  it('refuses a payment token that is not a token', () => {
    const event = createEvent(
      'OrderPlaced',
      { orderId: 'o', customerId: 'c', items: [{ productId: 'P', quantity: 1 }], totalAmount: 1, currency: 'EUR' },
      { correlationId: 'o' },
    );
    assert.throws(() => decodeEvent({ ...event, paymentToken: '4111111111111111' }), SchemaViolationError);
  });
});
