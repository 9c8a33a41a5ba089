import assert from 'node:assert/strict';
import { routingKeyOf, type EventType } from '../../shared/events/catalog';
import { createEvent, decodeEvent, fieldOf } from '../../shared/events/codec';
import { SchemaViolationError, UnknownEventError } from '../../shared/errors/errors';
import { sealToken } from '../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING } from '../../shared/security/token-keys';
import { INVENTORY_EVENTS } from '../../workers/inventory/events';
import { ORDER_EVENTS } from '../../workers/order/events';
import { PAYMENT_EVENTS } from '../../workers/payment/events';
import { FLEET_EVENT_TYPES, FLEET_EVENTS } from '../../workers/registry';

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
    // Every event of the three services (a service added later brings its own spec).
    assert.deepEqual(Object.keys(payloads).sort(), Object.keys({ ...ORDER_EVENTS, ...INVENTORY_EVENTS, ...PAYMENT_EVENTS }).sort());
    for (const type of Object.keys(payloads) as EventType[]) {
      const event = createEvent(type, payloads[type] as never, { correlationId: 'o', causationId: 'cause-1' });
      assert.equal(event.version, FLEET_EVENTS[type].version);
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

  it('publishes every event under the routing key of the contract, no two alike', () => {
    const keys = FLEET_EVENT_TYPES.map((type) => routingKeyOf(type));
    assert.equal(new Set(keys).size, keys.length);
    const contract: Record<string, string> = {
      OrderPlaced: 'order.placed',
      OrderConfirmed: 'order.confirmed',
      OrderCancelled: 'order.cancelled',
      InventoryReserved: 'inventory.reserved',
      InventoryRejected: 'inventory.rejected',
      InventoryReleased: 'inventory.released',
      PaymentCaptured: 'payment.captured',
      PaymentDeclined: 'payment.declined',
      PaymentRefunded: 'payment.refunded',
    };
    for (const [type, key] of Object.entries(contract)) assert.equal(routingKeyOf(type as EventType), key, type);
  });

  it('carries the causation it is given, and none for an event nothing caused', () => {
    const payload = { orderId: 'o', reason: 'CARD_DECLINED' };
    assert.equal(createEvent('PaymentDeclined', payload, { correlationId: 'o', causationId: 'cause-1' }).causationId, 'cause-1');
    assert.equal('causationId' in createEvent('PaymentDeclined', payload, { correlationId: 'o' }), false);
  });

  it('refuses a body that is not an object, and an eventType or version of the wrong type, as permanent errors', () => {
    for (const body of [null, 'OrderPlaced', 42, true]) assert.throws(() => decodeEvent(body), SchemaViolationError, JSON.stringify(body));
    assert.throws(() => decodeEvent({ ...SEED, eventType: ['OrderPlaced'] }), UnknownEventError);
    assert.throws(() => decodeEvent({ ...SEED, version: '1' }), UnknownEventError, 'a version is a number, never the string of one');
  });

  /** A valid current event of `type`, with `changes` applied (`undefined` removes a field). */
  const eventWith = (type: EventType, payload: Record<string, unknown>, changes: Record<string, unknown>) =>
    JSON.parse(JSON.stringify({ ...createEvent(type, payload as never, { correlationId: 'o' }), ...changes }));
  const PLACED = { orderId: 'o', customerId: 'c', items: [{ productId: 'P', quantity: 1 }], totalAmount: 1, currency: 'EUR' };
  const ITEMS = { orderId: 'o', items: [{ productId: 'P', quantity: 1 }] };
  const MONEY = { orderId: 'o', amount: 1, currency: 'EUR', paymentId: 'ch_1' };
  const refused: [EventType, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { eventId: undefined }, '/eventId'],
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { eventId: 'a b' }, '/eventId'],
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { eventId: 'e'.repeat(129) }, '/eventId'],
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { correlationId: ':o' }, '/correlationId'],
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { timestamp: 'yesterday' }, '/timestamp'],
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { reason: '' }, '/reason'],
    ['PaymentDeclined', { orderId: 'o', reason: 'CARD_DECLINED' }, { reason: 'R'.repeat(65) }, '/reason'],
    ['OrderPlaced', PLACED, { customerId: 'c 1' }, '/customerId'],
    ['OrderPlaced', PLACED, { customerId: 'c'.repeat(129) }, '/customerId'],
    ['OrderPlaced', PLACED, { currency: 'eur' }, '/currency'],
    ['OrderPlaced', PLACED, { items: [] }, '/items'],
    ['OrderPlaced', PLACED, { items: Array.from({ length: 101 }, (_, i) => ({ productId: `P${i}`, quantity: 1 })) }, '/items'],
    ['OrderPlaced', PLACED, { items: [{ productId: 'P', quantity: 0 }] }, '/items/0/quantity'],
    ['OrderPlaced', PLACED, { items: [{ productId: 'P', quantity: 10_001 }] }, '/items/0/quantity'],
    ['OrderConfirmed', { ...ITEMS, totalAmount: 1, currency: 'EUR' }, { items: undefined }, '/items'],
    ['OrderConfirmed', { ...ITEMS, totalAmount: 1, currency: 'EUR' }, { totalAmount: 0 }, '/totalAmount'],
    ['OrderCancelled', { ...ITEMS, reason: 'TIMEOUT' }, { reason: 'CHANGED_MIND' }, '/reason'],
    ['OrderCancelled', { ...ITEMS, reason: 'TIMEOUT' }, { items: undefined }, '/items'],
    ['InventoryReserved', ITEMS, { items: undefined }, '/items'],
    ['InventoryReleased', ITEMS, { items: [] }, '/items'],
    ['InventoryRejected', { orderId: 'o', reason: 'OUT_OF_STOCK', productId: 'P' }, { reason: 'BROKEN' }, '/reason'],
    ['InventoryRejected', { orderId: 'o', reason: 'OUT_OF_STOCK', productId: 'P' }, { productId: undefined }, '/productId'],
    ['PaymentCaptured', MONEY, { paymentId: '' }, '/paymentId'],
    ['PaymentCaptured', MONEY, { paymentId: 'p'.repeat(129) }, '/paymentId'],
    ['PaymentRefunded', MONEY, { amount: 0 }, '/amount'],
    ['PaymentRefunded', MONEY, { paymentId: undefined }, '/paymentId'],
    ['PaymentRefunded', MONEY, { paymentId: '' }, '/paymentId'],
  ];
  for (const [type, payload, changes, field] of refused) {
    it(`refuses ${type} with ${JSON.stringify(changes).slice(0, 60)}, naming ${field}`, () => {
      assert.throws(
        () => decodeEvent(eventWith(type, payload, changes)),
        (e: unknown) => e instanceof SchemaViolationError && e.field === field,
      );
    });
  }

  it('accepts every reason an order is cancelled for', () => {
    for (const reason of ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMEOUT'])
      assert.equal(
        decodeEvent(eventWith('OrderCancelled', { ...ITEMS, reason: 'TIMEOUT' }, { reason })).eventType,
        'OrderCancelled',
        reason,
      );
  });

  it("says in the failure's reason which event and field broke and how, and which type or version is unknown", () => {
    const reason = (run: () => unknown) => {
      try {
        run();
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    assert.match(
      reason(() => decodeEvent({ ...SEED, items: [{ productId: 'P001', quantity: 'two' }] })),
      /^OrderPlaced v1: \/items\/0\/quantity .*integer/,
    );
    assert.match(
      reason(() => decodeEvent({ ...SEED, eventType: 'OrderShipped' })),
      /unknown eventType "OrderShipped"/,
    );
    assert.match(
      reason(() => decodeEvent({ ...SEED, version: 7 })),
      /unknown version 7 of OrderPlaced/,
    );
    assert.match(
      reason(() => createEvent('PaymentCaptured', { ...MONEY, amount: -1 }, { correlationId: 'o' })),
      /^outgoing PaymentCaptured: \/amount /,
    );
  });

  it('says whether an older event broke its own version or what it became, and why a body or a clear token is refused', () => {
    const v2 = { ...eventWith('OrderPlaced', PLACED, {}), version: 2 };
    const refusal = (body: unknown) => {
      try {
        decodeEvent(body);
      } catch (e) {
        return { message: (e as Error).message, field: (e as { field?: string }).field };
      }
      return { message: 'accepted', field: undefined };
    };
    assert.match(refusal({ ...v2, customerId: '' }).message, /^OrderPlaced v2: \/customerId /);
    // A customer id v2 took and v3 refuses: the upcast's output is checked, and the reason says so.
    assert.match(refusal({ ...v2, customerId: 'c 1' }).message, /^OrderPlaced \(upcast from v2\): \/customerId /);
    assert.deepEqual(refusal({ ...v2, paymentToken: 'tok_visa' }), {
      message: 'OrderPlaced v2 carries a payment token in clear; since v3 tokens travel sealed',
      field: undefined,
    });
    assert.deepEqual(refusal([SEED]), { message: 'event: body is not a JSON object', field: '' });
  });

  it('names the offending field of an extra property (the HTTP API refuses those), and none without an error', () => {
    const error = { keyword: 'additionalProperties', instancePath: '/items/0', params: { additionalProperty: 'price' } };
    assert.equal(fieldOf(error as never), '/items/0/price');
    assert.equal(fieldOf(undefined), '');
  });
});
