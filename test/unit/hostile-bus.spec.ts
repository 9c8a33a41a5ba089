import assert from 'node:assert/strict';
import { formatShow } from '../../shared/cli/dlq-output';
import { printable, printableJson } from '../../shared/cli/printable';
import type { Message } from 'amqplib';
import { describeDeadLetter } from '../../shared/dlq/dead-letter-info';
import type { ShowResult } from '../../shared/dlq/dlq-admin';
import { replayProperties } from '../../shared/dlq/replay-properties';
import { decodeEvent, derivedEventId } from '../../shared/events/codec';
import { ID_MAX_LENGTH, isId } from '../../shared/events/common';
import { upcastOrderPlacedV1 } from '../../workers/order/events';
import { assertOutcomesPublishable } from '../../shared/events/outcome-check';
import { SchemaViolationError, TransientError } from '../../shared/errors/errors';
import { eventTypeLabel } from '../../shared/observability/metrics';
import { hashedKey, idKey, internalKey, InvalidIdError } from '../../shared/redis/key-layout';
import { applyToOrder, newOrder, type Order, type SagaInput } from '../../workers/order/domain/order-saga';
import { chargeKey, refundKey } from '../../workers/payment/domain/payment';
import { assertBrokersSawNoViolation, eventProps, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, paymentDeclined, until } from './fakes/fixtures';
import { FLEET_EVENT_TYPES } from '../../workers/registry';

const MAX_ID = 'A'.repeat(ID_MAX_LENGTH);
const now = '2026-01-01T00:00:00.000Z';

const orderPlaced = (orderId: string) => ({
  eventType: 'OrderPlaced',
  orderId,
  items: [{ productId: 'P', quantity: 1 }],
  totalAmount: 10,
  timestamp: now,
});

describe('hostile input on the bus and in state (unit)', () => {
  afterEach(assertBrokersSawNoViolation);

  describe('ids: one rule at the edge, room for what is derived', () => {
    it('refuses ids that could name another key or break a derived one, on the bus', () => {
      for (const orderId of [
        'a:b',
        'deadlines:x',
        '_deadlines',
        '',
        ' o',
        'o\n',
        'o\u001b[31m',
        'ö',
        '../x',
        'A'.repeat(ID_MAX_LENGTH + 1),
      ]) {
        assert.throws(() => decodeEvent(orderPlaced(orderId)), SchemaViolationError, JSON.stringify(orderId));
        assert.equal(isId(orderId), false, JSON.stringify(orderId));
      }
      for (const orderId of ['o-1', 'deadlines', 'ORD.001', '0', MAX_ID]) assert.equal(decodeEvent(orderPlaced(orderId)).orderId, orderId);
    });

    it('an id of the longest length still makes every derived id and outgoing event valid (no derived-id overflow)', () => {
      const placed = upcastOrderPlacedV1({ ...orderPlaced(MAX_ID), eventType: 'OrderPlaced' });
      assert.equal(decodeEvent(placed).eventId, placed.eventId, 'the upcast v1:OrderPlaced:<id> eventId validates');
      for (const eventType of FLEET_EVENT_TYPES) assert.ok(derivedEventId(MAX_ID, eventType).length <= 128, eventType);
      const cause = decodeEvent(placed);
      const items = [{ productId: MAX_ID, quantity: 1 }];
      const paymentId = `ch_${chargeKey(MAX_ID)}`;
      assertOutcomesPublishable(cause, {
        InventoryReserved: { orderId: MAX_ID, items },
        InventoryRejected: { orderId: MAX_ID, reason: 'OUT_OF_STOCK', productId: MAX_ID },
        InventoryReleased: { orderId: MAX_ID, items },
        PaymentCaptured: { orderId: MAX_ID, amount: 10, currency: 'USD', paymentId },
        PaymentDeclined: { orderId: MAX_ID, reason: 'CARD_DECLINED' },
        PaymentRefunded: { orderId: MAX_ID, amount: 10, currency: 'USD', paymentId: `re_${refundKey(MAX_ID)}` },
        OrderConfirmed: { orderId: MAX_ID, items, totalAmount: 10, currency: 'USD' },
        OrderCancelled: { orderId: MAX_ID, reason: 'TIMEOUT', items },
      });
    });

    it('an outcome that could not be published is refused before the effect, as a permanent error', () => {
      const cause = paymentDeclined();
      assert.throws(
        () => assertOutcomesPublishable(cause, { PaymentCaptured: { orderId: 'o-1', amount: -1, currency: 'USD', paymentId: 'ch' } }),
        SchemaViolationError,
      );
    });
  });

  describe('key layout', () => {
    it('no id, however chosen, names an internal key or another kind of record', () => {
      const internal = ['order', 'inventory', 'payment'].flatMap((kind) =>
        ['deadlines', 'parked', 'ready'].map((n) => internalKey('w:', kind, n)),
      );
      for (const id of ['deadlines', 'parked', 'ready', 'order', 'x', MAX_ID]) {
        for (const kind of ['order', 'payment', 'inventory', 'stock', 'inventory:order', 'gateway:order'])
          assert.ok(!internal.includes(idKey('w:', kind, id)), `${kind} ${id}`);
      }
      assert.notEqual(idKey('w:', 'inventory', 'order'), idKey('w:', 'inventory:order', 'x'));
      for (const id of ['_deadlines', 'order:x', 'a:b', '', 'x'.repeat(65)]) assert.throws(() => idKey('w:', 'order', id), InvalidIdError);
    });

    it('a value that is not an id is hashed into its own kind: fixed length, no separator from the value', () => {
      const key = hashedKey('w:', 'idem:http', 'order:_deadlines\r\n' + 'x'.repeat(300));
      assert.match(key, /^w:idem:http:[0-9a-f]{64}$/);
    });
  });

  describe('the order service never cancels a confirmed order', () => {
    it('no input after CONFIRMED emits OrderCancelled or changes its status', () => {
      let order: Order = newOrder({
        orderId: 'o',
        customerId: 'c',
        items: [{ productId: 'P', quantity: 1 }],
        totalAmount: 1,
        currency: 'USD',
        createdAt: now,
      });
      order = applyToOrder(order, { eventType: 'InventoryReserved' }, now).order;
      order = applyToOrder(order, { eventType: 'PaymentCaptured' }, now).order;
      assert.equal(order.status, 'CONFIRMED');
      const inputs: SagaInput[] = [
        { eventType: 'TimedOut' },
        { eventType: 'InventoryRejected' },
        { eventType: 'PaymentDeclined' },
        { eventType: 'InventoryReleased' },
        { eventType: 'PaymentRefunded' },
      ];
      for (const input of inputs) {
        const step = applyToOrder(order, input, now);
        assert.deepEqual(step.emit, [], input.eventType);
        assert.equal(step.order.status, 'CONFIRMED', input.eventType);
      }
    });
  });

  describe('x-warren-* headers from outside are not trusted', () => {
    it('a forged attempt count, first failure and origin on the events exchange start over as a first attempt', async () => {
      const { copies, deliver } = await startConsumer({ PaymentDeclined: () => Promise.reject(new TransientError('down')) });
      const event = paymentDeclined();
      deliver(body(event), {
        ...eventProps(event),
        headers: {
          'x-warren-attempt': 99,
          'x-warren-first-failure-at': '1970-01-01T00:00:00.000Z',
          'x-warren-original-routing-key': 'order.cancelled',
          'x-warren-replay-count': 1000,
          'x-warren-reason': 'forged',
        },
      });
      await until('the retry copy', () => copies.published.length === 1);
      const copy = copies.published[0]!;
      assert.equal(copy.routingKey, 'retry.10', 'a first attempt: retried, not dead-lettered as exhausted');
      const headers = headersOf(copy);
      assert.equal(headers['x-warren-attempt'], 2);
      assert.notEqual(headers['x-warren-first-failure-at'], '1970-01-01T00:00:00.000Z');
      assert.equal(headers['x-warren-original-routing-key'], 'payment.declined');
      assert.equal(headers['x-warren-replay-count'], undefined);
      assert.equal(headers['x-warren-reason'], undefined);
    });

    it('the same headers on a copy handed back through the queue own failures exchange are its own, and count', async () => {
      const { copies, returnFromTier, deliver } = await startConsumer({
        PaymentDeclined: () => Promise.reject(new TransientError('down')),
      });
      const event = paymentDeclined();
      deliver(body(event), eventProps(event));
      await until('the first retry copy', () => copies.published.length === 1);
      returnFromTier(copies.published[0]!);
      await until('the second retry copy', () => copies.published.length === 2);
      assert.equal(headersOf(copies.published[1])['x-warren-attempt'], 3);
    });

    describe('on a message the broker dead-lettered', () => {
      const forged = {
        'x-warren-attempt': 99,
        'x-warren-first-failure-at': '1970-01-01T00:00:00.000Z',
        'x-warren-original-routing-key': 'order.cancelled',
        'x-warren-replay-count': 1000,
      };
      const deadLetter = (exchange: string): Message =>
        ({
          content: Buffer.from('{}'),
          fields: { exchange: '', routingKey: 'warren.payment.dlq' },
          properties: {
            messageId: 'm-1',
            headers: {
              ...forged,
              'x-death': [
                { queue: 'warren.payment', reason: 'delivery_limit', exchange, 'routing-keys': ['order.placed'], time: 1_800_000_000 },
              ],
            },
          },
        }) as unknown as Message;

      it('a poison message that crashed its worker from the events exchange keeps none of its forged headers', () => {
        const msg = deadLetter('warren.events');
        const info = describeDeadLetter(msg);
        assert.equal(info.source, 'broker');
        assert.equal(info.attempts, undefined);
        assert.equal(info.firstFailureAt, new Date(1_800_000_000_000).toISOString(), 'from x-death, not the header');
        assert.equal(info.originalRoutingKey, 'order.placed');
        assert.equal(info.replayCount, 0);
        const replay = replayProperties(msg, new Date(0)).headers ?? {};
        assert.equal(replay['x-warren-replay-count'], 1);
        assert.equal(replay['x-warren-original-routing-key'], 'order.placed');
      });

      it('one that died coming back from its own retry tier keeps the consumer headers', () => {
        const info = describeDeadLetter(deadLetter('warren.payment.failures'));
        assert.equal(info.attempts, 99);
        assert.equal(info.replayCount, 1000);
      });
    });
  });

  describe('bounded labels and clean output', () => {
    it('a poison message with an ANSI-laden AMQP type adds no label value of its own', async () => {
      const { broker, deliver, metrics } = await startConsumer({ PaymentDeclined: async () => undefined });
      const types = Array.from({ length: 20 }, (_, i) => `\u001b[31mEvil${i}${'x'.repeat(180)}`);
      const tags = types.map((type, i) => deliver(Buffer.from('{not json'), { messageId: `m-${i}`, type }));
      await until('every poison message dead-lettered and acked', () => tags.every((t) => broker.settlement(t) === 'ack'));
      const text = await metrics.registry.metrics();
      assert.ok(!text.includes('Evil'), 'no label carries the forged type');
      assert.ok(!text.includes('\u001b'));
      assert.match(text, /warren_messages_dead_lettered_total\{queue="q",event_type="unknown",reason_code="MALFORMED_JSON"[^}]*\} 20/);
      assert.equal(eventTypeLabel('OrderPlaced'), 'OrderPlaced');
      assert.equal(eventTypeLabel('toString'), 'unknown');
    });

    it('the DLQ tool escapes control characters in every field it prints', () => {
      const evil = 'id\u001b[2J\u001b]0;pwned\u0007\r\nreason code    FORGED\u009b31m\u202e';
      const shown: ShowResult = {
        dlq: 'warren.payment.dlq',
        depth: 1,
        notRead: 0,
        messages: [
          {
            position: 1,
            messageId: evil,
            derivedId: false,
            eventType: evil,
            orderId: evil,
            correlationId: evil,
            reason: evil,
            reasonCode: evil,
            errorClass: evil,
            firstFailureAt: evil,
            failingQueue: evil,
            originalExchange: evil,
            originalRoutingKey: evil,
            service: evil,
            source: 'consumer',
            replayCount: 0,
            body: evil,
          },
        ],
      } as ShowResult;
      const out = formatShow(shown);
      // eslint-disable-next-line no-control-regex -- looking for control characters is the point
      assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/, 'no control character but the line breaks of the layout');
      assert.equal(out.split('\n').filter((l) => l.includes('FORGED')).length, 12, 'each field stays on its own line');
      assert.equal(printable('a\nb\u001b[0m\u0085'), 'a\\nb\\e[0m\\x85');
      // A body that spells an escape out reads differently from one that holds the character.
      assert.notEqual(printable('a\\nb'), printable('a\nb'));
      assert.equal(printable('a\\nb'), 'a\\\\nb');
    });

    it('--json escapes what JSON.stringify leaves raw (C1 controls, bidi overrides, line separators), readably', () => {
      const evil = { reason: 'x\u202eFDP\u0085\u2028\u009b31m' };
      const out = printableJson(evil);
      assert.doesNotMatch(out, /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
      assert.deepEqual(JSON.parse(out), evil);
    });
  });
});
