import assert from 'node:assert/strict';
import {
  chargeDecision,
  chargeKey,
  chargeOutcome,
  refundKey,
  refundsOnCancel,
  settlementOf,
  type PaymentState,
} from '../../workers/payment/domain/payment';

const fresh: PaymentState = { cancelled: false };
const captured: PaymentState = { status: 'CAPTURED', cancelled: false };
const declined: PaymentState = { status: 'DECLINED', cancelled: false, reason: 'CARD_DECLINED' };
const refunded: PaymentState = { status: 'REFUNDED', cancelled: true };
const cancelled = (state: PaymentState): PaymentState => ({ ...state, cancelled: true });

describe('payment decision (pure)', () => {
  it('charges a placed order once: only while the gateway has not answered and the order is not cancelled', () => {
    assert.equal(chargeDecision(fresh), 'charge');
    assert.equal(chargeDecision(cancelled(fresh)), 'skip', 'cancelled before payment: never charged');
    for (const state of [captured, declined, refunded, cancelled(captured)])
      assert.equal(chargeDecision(state), 'answered', JSON.stringify(state));
  });

  it("records the gateway's answer: a decline is a business outcome with its reason, not a failure", () => {
    assert.deepEqual(chargeOutcome('succeeded'), { status: 'CAPTURED' });
    assert.deepEqual(chargeOutcome('declined'), { status: 'DECLINED', reason: 'CARD_DECLINED' });
  });

  it('after the answer, publishes the capture or the decline, the same on every redelivery', () => {
    assert.deepEqual(settlementOf(captured), { kind: 'captured' });
    assert.deepEqual(settlementOf(declined), { kind: 'declined', reason: 'CARD_DECLINED' });
    assert.deepEqual(
      settlementOf({ status: 'DECLINED', cancelled: false }),
      { kind: 'declined', reason: 'CARD_DECLINED' },
      'a decline recorded without a reason',
    );
  });

  it('refunds a capture whose order was cancelled meanwhile, instead of publishing it', () => {
    assert.deepEqual(settlementOf(cancelled(captured)), { kind: 'refund' });
    assert.deepEqual(settlementOf(refunded), { kind: 'none' }, 'a refund already made is not published as a capture');
    assert.deepEqual(
      settlementOf(cancelled(declined)),
      { kind: 'declined', reason: 'CARD_DECLINED' },
      'nothing to give back for a decline',
    );
  });

  it('on cancellation refunds a capture, and asks again for a refund already made (so its outcome is re-published)', () => {
    assert.equal(refundsOnCancel(cancelled(captured)), true);
    assert.equal(refundsOnCancel(refunded), true);
    assert.equal(refundsOnCancel(cancelled(declined)), false);
    assert.equal(refundsOnCancel(cancelled(fresh)), false, 'never charged: nothing to refund');
  });

  it('keys the gateway by order, one charge and one refund each', () => {
    assert.equal(chargeKey('o-1'), 'charge:o-1');
    assert.equal(refundKey('o-1'), 'refund:o-1');
    assert.notEqual(chargeKey('o-1'), chargeKey('o-2'));
  });
});
