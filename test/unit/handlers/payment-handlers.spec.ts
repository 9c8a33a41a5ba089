import assert from 'node:assert/strict';
import type { AnyEvent } from '../../../shared/events/catalog';
import { ConflictingEventError, SchemaViolationError } from '../../../shared/errors/errors';
import type { EventHandler } from '../../../shared/messaging/context';
import { sealToken } from '../../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING } from '../../../shared/security/token-keys';
import { MemoryGateway } from '../../../workers/payment/gateway/memory-gateway';
import { GatewayUnavailableError } from '../../../workers/payment/gateway/simulated-provider';
import { onOrderCancelled, onOrderConfirmed, onOrderPlaced, type PaymentDeps } from '../../../workers/payment/handlers/order-handlers';
// Its declaration lists the payment events, so importing it registers those the handlers publish.
import { PAYMENT_QUEUE } from '../../../workers/payment/service';
import { MemoryLedger } from '../../../workers/payment/store/memory-ledger';
import { newOrderId, orderCancelled, orderConfirmed, orderPlaced } from '../fakes/event-literals';
import { recordingContext } from '../fakes/recording-context';

/**
 * The payment handlers' decisions, on the ledger and the simulated provider in memory (the same answers as their
 * Redis books: the conformance suites hold both to them): what each event publishes, what the ledger holds and what
 * money the provider moved, first time and on a repeat.
 */
describe('payment handlers on the in-memory ledger and gateway', () => {
  let gateway: MemoryGateway;
  let ledger: MemoryLedger;
  let deps: PaymentDeps;
  let orderId: string;
  beforeEach(() => {
    gateway = new MemoryGateway();
    ledger = new MemoryLedger();
    deps = { gateway, ledger, tokenKeys: DEV_TOKEN_KEYRING };
    orderId = newOrderId();
  });

  async function handle<E extends AnyEvent>(handler: EventHandler<E>, event: E) {
    const { ctx, published } = recordingContext(event, PAYMENT_QUEUE);
    const outcome = await handler(ctx);
    return { outcome, published };
  }
  const placedWith = (token: string, totalAmount = 150) =>
    orderPlaced({ orderId, totalAmount, sealedPaymentToken: sealToken(DEV_TOKEN_KEYRING, token, orderId) });
  const place = (token = 'tok_visa') => handle(onOrderPlaced(deps), placedWith(token));
  const cancel = () => handle(onOrderCancelled(deps), orderCancelled(orderId, 'OUT_OF_STOCK'));
  const confirm = () => handle(onOrderConfirmed(deps), orderConfirmed(orderId));
  const moved = () => gateway.totals(orderId);
  const chargeId = () => `ch_charge:${orderId}`;
  const refunded = () => ({
    eventType: 'PaymentRefunded',
    eventId: `PaymentRefunded:${orderId}`,
    payload: { orderId, amount: 150, currency: 'USD', paymentId: chargeId() },
  });

  it('charges a placed order once and publishes PaymentCaptured with the charge id', async () => {
    const { outcome, published } = await place();
    assert.equal(outcome, 'done');
    assert.deepEqual(published, [
      {
        eventType: 'PaymentCaptured',
        eventId: `PaymentCaptured:${orderId}`,
        payload: { orderId, amount: 150, currency: 'USD', paymentId: chargeId() },
      },
    ]);
    assert.equal((await ledger.get(orderId)).status, 'CAPTURED');
    assert.deepEqual(await moved(), { captures: 1, refunds: 0 });
  });

  it('answers a redelivered OrderPlaced with the same PaymentCaptured, charging nothing more', async () => {
    const first = await place();
    const again = await place();
    assert.deepEqual([again.outcome, again.published], ['duplicate', first.published]);
    assert.deepEqual(await moved(), { captures: 1, refunds: 0 });
  });

  it('publishes PaymentDeclined for a declined card, and keeps the decline', async () => {
    const { outcome, published } = await place('tok_decline');
    assert.equal(outcome, 'done');
    assert.deepEqual(published, [
      { eventType: 'PaymentDeclined', eventId: `PaymentDeclined:${orderId}`, payload: { orderId, reason: 'CARD_DECLINED' } },
    ]);
    const entry = await ledger.get(orderId);
    assert.deepEqual([entry.status, entry.reason], ['DECLINED', 'CARD_DECLINED']);
    assert.deepEqual(await moved(), { captures: 0, refunds: 0 });
    assert.deepEqual((await place('tok_decline')).published, published);
  });

  it('throws the gateway timeout (transient, to retry) and publishes nothing until the charge is answered', async () => {
    for (let call = 1; call <= 2; call++) {
      const { ctx, published } = recordingContext(placedWith('tok_flaky'), PAYMENT_QUEUE);
      await assert.rejects(onOrderPlaced(deps)(ctx), GatewayUnavailableError);
      assert.deepEqual(published, []);
    }
    assert.equal((await ledger.get(orderId)).status, undefined);
    const { published } = await place('tok_flaky');
    assert.deepEqual(
      published.map((p) => p.eventType),
      ['PaymentCaptured'],
    );
  });

  it('refunds a captured order when it is cancelled, once; a repeat re-publishes PaymentRefunded', async () => {
    await place();
    const first = await cancel();
    assert.deepEqual([first.outcome, first.published], ['done', [refunded()]]);
    assert.equal((await ledger.get(orderId)).status, 'REFUNDED');
    const again = await cancel();
    assert.deepEqual([again.outcome, again.published], ['duplicate', [refunded()]]);
    assert.deepEqual(await moved(), { captures: 1, refunds: 1 });
  });

  it('refunds nothing of a declined order, or of one never charged', async () => {
    await place('tok_decline');
    assert.deepEqual(await cancel(), { outcome: 'done', published: [] });
    orderId = newOrderId();
    assert.deepEqual(await cancel(), { outcome: 'done', published: [] });
    assert.equal((await ledger.get(orderId)).status, undefined);
    assert.deepEqual(await moved(), { captures: 0, refunds: 0 });
  });

  it('never charges an order cancelled before its OrderPlaced was handled', async () => {
    await cancel();
    const late = await place();
    assert.deepEqual([late.outcome, late.published], ['done', []]);
    assert.deepEqual(await moved(), { captures: 0, refunds: 0 });
  });

  it('refunds a charge whose order was cancelled while the card was being charged', async () => {
    // The cancel lands between the gateway's answer and the ledger's record of it.
    deps = {
      ...deps,
      gateway: {
        charge: async (request) => {
          const answer = await gateway.charge(request);
          await cancel();
          return answer;
        },
        refund: (request) => gateway.refund(request),
      },
    };
    const { outcome, published } = await place();
    assert.deepEqual([outcome, published], ['done', [refunded()]]);
    assert.equal((await ledger.get(orderId)).status, 'REFUNDED');
    assert.deepEqual(await moved(), { captures: 1, refunds: 1 });
  });

  it('confirms a captured order once, and then refuses its cancel (ConflictingEventError) without a refund', async () => {
    await place();
    assert.deepEqual(await confirm(), { outcome: 'done', published: [] });
    assert.deepEqual(await confirm(), { outcome: 'duplicate', published: [] });
    const { ctx, published } = recordingContext(orderCancelled(orderId, 'TIMEOUT'), PAYMENT_QUEUE);
    await assert.rejects(onOrderCancelled(deps)(ctx), ConflictingEventError);
    assert.deepEqual(published, []);
    assert.deepEqual(await moved(), { captures: 1, refunds: 0 });
  });

  it('refuses an OrderConfirmed the ledger does not bear out (ConflictingEventError)', async () => {
    await assert.rejects(confirm(), ConflictingEventError);
    await place('tok_decline');
    await assert.rejects(confirm(), ConflictingEventError);
  });

  it('refuses an OrderPlaced of the same order with other terms (ConflictingEventError), charging nothing more', async () => {
    await place();
    const { ctx, published } = recordingContext(placedWith('tok_visa', 1), PAYMENT_QUEUE);
    await assert.rejects(onOrderPlaced(deps)(ctx), ConflictingEventError);
    assert.deepEqual(published, []);
    assert.deepEqual(await moved(), { captures: 1, refunds: 0 });
  });

  it('refuses money the order API would refuse (SchemaViolationError) before anything is charged or kept', async () => {
    const { ctx } = recordingContext(orderPlaced({ orderId, totalAmount: 1.005 }), PAYMENT_QUEUE);
    await assert.rejects(onOrderPlaced(deps)(ctx), SchemaViolationError);
    assert.deepEqual(await ledger.get(orderId), { orderId, cancelled: false, confirmed: false, changed: false });
    assert.deepEqual(await moved(), { captures: 0, refunds: 0 });
  });
});
