import { derivedEventId } from '../../../shared/events/codec';
import type { OrderCancelled, OrderConfirmed, OrderPlaced } from '../../order/events';
import { assertOutcomesPublishable } from '../../../shared/events/outcome-check';
import type { EventHandler, MessageContext } from '../../../shared/messaging/context';
import { SchemaViolationError } from '../../../shared/errors/errors';
import { amountProblem } from '../../../shared/money/amount';
import { openToken } from '../../../shared/security/sealed-token';
import type { TokenKeyring } from '../../../shared/security/token-keys';
import { CARD_DECLINED, chargeDecision, chargeKey, chargeOutcome, refundKey, refundsOnCancel, settlementOf } from '../domain/payment';
import type { PaymentGateway } from '../domain/payment-gateway';
import type { LedgerEntry, PaymentLedger } from '../store/payment-ledger';

export interface PaymentDeps {
  gateway: PaymentGateway;
  ledger: PaymentLedger;
  /** Opens the sealed payment token of an OrderPlaced (PAYMENT_TOKEN_KEYS). */
  tokenKeys: TokenKeyring;
}

/**
 * Charges an order once. The gateway is called with the order's idempotency key, so a retry after a crash or a
 * timeout replays the provider's first answer instead of charging again; the ledger keeps that answer.
 */
export function onOrderPlaced({ gateway, ledger, tokenKeys }: PaymentDeps): EventHandler<OrderPlaced> {
  return async (ctx) => {
    const { orderId, totalAmount, currency, sealedPaymentToken } = ctx.event;
    // Money from the bus is held to the order API's rule (an ISO 4217 currency, whole minor units, at least one):
    // a forged OrderPlaced for 5e-324 USD or in a made-up currency is dead-lettered before anything is charged.
    const money = amountProblem(totalAmount, currency);
    if (money) {
      const field = money.field === 'amount' ? '/totalAmount' : '/currency';
      throw new SchemaViolationError(`${field} ${money.detail}`, field);
    }
    // Opened before any effect: a token that does not open (unknown key, altered, another order's) is a dead
    // letter whose reason names the key id only.
    const paymentToken = sealedPaymentToken === undefined ? undefined : openToken(tokenKeys, sealedPaymentToken, orderId);
    // Every outcome is checked before the charge; the gateway's charge id is not known yet, so a stand-in.
    const paymentId = 'ch_pending';
    assertOutcomesPublishable(ctx.event, {
      PaymentCaptured: { orderId, amount: totalAmount, currency, paymentId },
      PaymentDeclined: { orderId, reason: CARD_DECLINED },
      PaymentRefunded: { orderId, amount: totalAmount, currency, paymentId },
    });
    // What the first OrderPlaced of this order said is kept; one that says otherwise is refused (ConflictingEventError).
    let entry = await ledger.observe(orderId, { amount: totalAmount, currency });
    const decision = chargeDecision(entry);
    if (decision === 'skip') {
      ctx.log.info('order cancelled before payment; not charging');
      return 'done';
    }
    if (decision === 'charge') {
      const charge = await gateway.charge({
        idempotencyKey: chargeKey(orderId),
        orderId,
        amount: totalAmount,
        currency,
        ...(paymentToken ? { token: paymentToken } : {}),
      });
      entry = await ledger.recordCharge(orderId, {
        ...chargeOutcome(charge.status),
        amount: totalAmount,
        currency,
        paymentId: charge.chargeId,
      });
    }
    const settlement = settlementOf(entry);
    if (settlement.kind === 'refund') await refund(ctx, gateway, ledger, entry);
    else if (settlement.kind === 'captured') {
      await ctx.publish(
        'PaymentCaptured',
        { orderId, amount: totalAmount, currency, paymentId: entry.paymentId! },
        { eventId: derivedEventId(orderId, 'PaymentCaptured') },
      );
    } else if (settlement.kind === 'declined') {
      await ctx.publish('PaymentDeclined', { orderId, reason: settlement.reason }, { eventId: derivedEventId(orderId, 'PaymentDeclined') });
    }
    return entry.changed ? 'done' : 'duplicate';
  };
}

/**
 * Compensation: refunds a capture exactly once; marks a not-yet-charged order so that it is never charged. A
 * cancel of an order this ledger saw confirmed is refused (ConflictingEventError, to the DLQ): nothing refunded.
 */
export function onOrderCancelled({ gateway, ledger }: PaymentDeps): EventHandler<OrderCancelled> {
  return async (ctx) => {
    const entry = await ledger.markCancelled(ctx.event.orderId);
    if (refundsOnCancel(entry)) await refund(ctx, gateway, ledger, entry);
    return entry.changed ? 'done' : 'duplicate';
  };
}

/** Remembers that the order was confirmed, so that a cancel of it (forged, or a bug) never refunds its capture. */
export function onOrderConfirmed({ ledger }: PaymentDeps): EventHandler<OrderConfirmed> {
  return async (ctx) => ((await ledger.markConfirmed(ctx.event.orderId)) ? 'done' : 'duplicate');
}

async function refund(ctx: MessageContext, gateway: PaymentGateway, ledger: PaymentLedger, entry: LedgerEntry): Promise<void> {
  const { orderId } = entry;
  const { refundId } = await gateway.refund({ idempotencyKey: refundKey(orderId), orderId, chargeId: entry.paymentId! });
  await ledger.markRefunded(orderId, refundId);
  await ctx.publish(
    'PaymentRefunded',
    { orderId, amount: entry.amount!, currency: entry.currency!, paymentId: entry.paymentId! },
    { eventId: derivedEventId(orderId, 'PaymentRefunded') },
  );
}
