import assert from 'node:assert/strict';
import { ConflictingEventError } from '../../shared/errors/errors';
import { InvalidIdError } from '../../shared/redis/key-layout';
import type { ChargeOutcome, PaymentLedger } from '../../workers/payment/store/payment-ledger';
import { freshId, type MakeStore } from './fresh-ids';

const TERMS = { amount: 150, currency: 'USD' };
const CAPTURED: ChargeOutcome = { status: 'CAPTURED', ...TERMS, paymentId: 'ch_1' };
const DECLINED: ChargeOutcome = { status: 'DECLINED', ...TERMS, paymentId: 'ch_2', reason: 'CARD_DECLINED' };

/**
 * What every {@link PaymentLedger} does, as the payment handlers rely on it: the first terms and the first answer
 * stand, a repeat changes nothing, a cancel is recorded once and refused after a confirm, and only a capture is
 * refunded. Run against Redis (test/integration/store-conformance.test.ts) and memory (test/unit/stores/).
 */
export function ledgerConformance(makeLedger: MakeStore<PaymentLedger>): void {
  let ledger: PaymentLedger;
  let orderId: string;
  beforeEach(async () => {
    ledger = await makeLedger();
    orderId = freshId('o');
  });
  const entry = (fields: object = {}) => ({ orderId, cancelled: false, confirmed: false, changed: false, ...fields });

  it('holds nothing of an order never seen', async () => {
    assert.deepEqual(await ledger.get(orderId), entry());
  });

  it('keeps the terms of the first OrderPlaced, and refuses other terms (ConflictingEventError) without keeping them', async () => {
    assert.deepEqual(await ledger.observe(orderId, TERMS), entry(TERMS));
    assert.deepEqual(await ledger.observe(orderId, TERMS), entry(TERMS));
    await assert.rejects(ledger.observe(orderId, { ...TERMS, amount: 151 }), ConflictingEventError);
    await assert.rejects(ledger.observe(orderId, { ...TERMS, currency: 'EUR' }), ConflictingEventError);
    assert.deepEqual(await ledger.get(orderId), entry(TERMS));
  });

  it("keeps the gateway's first answer: a later one changes nothing and gets the first back", async () => {
    await ledger.observe(orderId, TERMS);
    const first = await ledger.recordCharge(orderId, CAPTURED);
    assert.deepEqual(first, entry({ ...TERMS, status: 'CAPTURED', paymentId: 'ch_1', changed: true }));
    assert.deepEqual(await ledger.recordCharge(orderId, DECLINED), { ...first, changed: false });
    assert.deepEqual(await ledger.get(orderId), { ...first, changed: false });
  });

  it('records a decline with its reason', async () => {
    const declined = await ledger.recordCharge(orderId, DECLINED);
    assert.deepEqual(declined, entry({ ...TERMS, status: 'DECLINED', paymentId: 'ch_2', reason: 'CARD_DECLINED', changed: true }));
  });

  it('records one answer when two arrive at once', async () => {
    const both = await Promise.all([ledger.recordCharge(orderId, CAPTURED), ledger.recordCharge(orderId, DECLINED)]);
    assert.deepEqual(
      both.map((e) => e.changed),
      [true, false],
    );
    assert.equal(both[1]!.status, both[0]!.status);
  });

  it('marks a cancel once, keeping the answer; an order cancelled before its charge has no status', async () => {
    await ledger.recordCharge(orderId, CAPTURED);
    assert.deepEqual(
      await ledger.markCancelled(orderId),
      entry({ ...TERMS, status: 'CAPTURED', paymentId: 'ch_1', cancelled: true, changed: true }),
    );
    assert.equal((await ledger.markCancelled(orderId)).changed, false);

    const early = freshId('o');
    const cancelled = await ledger.markCancelled(early);
    assert.deepEqual([cancelled.status, cancelled.cancelled, cancelled.changed], [undefined, true, true]);
  });

  it('confirms a standing capture once, and then refuses its cancel (ConflictingEventError) without marking it', async () => {
    await ledger.recordCharge(orderId, CAPTURED);
    assert.equal(await ledger.markConfirmed(orderId), true);
    assert.equal(await ledger.markConfirmed(orderId), false);
    await assert.rejects(ledger.markCancelled(orderId), ConflictingEventError);
    assert.deepEqual(await ledger.get(orderId), entry({ ...TERMS, status: 'CAPTURED', paymentId: 'ch_1', confirmed: true }));
  });

  it('refuses to confirm what holds no standing capture (ConflictingEventError): unknown, declined, cancelled', async () => {
    await assert.rejects(ledger.markConfirmed(orderId), ConflictingEventError);
    const declined = freshId('o');
    await ledger.recordCharge(declined, DECLINED);
    await assert.rejects(ledger.markConfirmed(declined), ConflictingEventError);
    const cancelled = freshId('o');
    await ledger.recordCharge(cancelled, CAPTURED);
    await ledger.markCancelled(cancelled);
    await assert.rejects(ledger.markConfirmed(cancelled), ConflictingEventError);
    assert.equal((await ledger.get(cancelled)).confirmed, false);
  });

  it('refunds a capture once, and never what was not captured', async () => {
    await ledger.recordCharge(orderId, CAPTURED);
    assert.equal(await ledger.markRefunded(orderId, 're_1'), true);
    assert.equal(await ledger.markRefunded(orderId, 're_2'), false);
    assert.equal((await ledger.get(orderId)).status, 'REFUNDED');

    const declined = freshId('o');
    await ledger.recordCharge(declined, DECLINED);
    assert.equal(await ledger.markRefunded(declined, 're_3'), false);
    assert.equal((await ledger.get(declined)).status, 'DECLINED');
    const unknown = freshId('o');
    assert.equal(await ledger.markRefunded(unknown, 're_4'), false);
    assert.deepEqual(await ledger.get(unknown), { ...entry(), orderId: unknown });
  });

  it('refuses an order id that breaks the id rule (InvalidIdError)', async () => {
    await assert.rejects(ledger.get('o:1'), InvalidIdError);
    await assert.rejects(ledger.observe('_o', TERMS), InvalidIdError);
    await assert.rejects(ledger.recordCharge('o 1', CAPTURED), InvalidIdError);
    await assert.rejects(ledger.markCancelled('o:1'), InvalidIdError);
  });
}
