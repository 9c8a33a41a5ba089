import { derivedEventId } from '../../../shared/events/codec';
import type { OrderCancelled, OrderPlaced } from '../../../shared/events/order-events';
import type { EventHandler, MessageContext } from '../../../shared/messaging/context';
import type { SimulatedGateway } from '../gateway/simulated-gateway';
import type { Ledger, LedgerEntry } from '../store/ledger';

export interface PaymentDeps {
  gateway: SimulatedGateway;
  ledger: Ledger;
}

/**
 * Charges an order once. The gateway is called with the order's idempotency key, so a retry after a crash or a
 * timeout replays the provider's first answer instead of charging again; the ledger keeps that answer.
 */
export function onOrderPlaced({ gateway, ledger }: PaymentDeps): EventHandler<OrderPlaced> {
  return async (ctx) => {
    const { orderId, totalAmount, currency, paymentToken } = ctx.event;
    let entry = await ledger.get(orderId);
    if (!entry.status) {
      if (entry.cancelled) {
        ctx.log.info('order cancelled before payment; not charging');
        return;
      }
      const charge = await gateway.charge({ idempotencyKey: `charge:${orderId}`, orderId, amount: totalAmount, currency, ...(paymentToken ? { token: paymentToken } : {}) });
      entry = await ledger.recordCharge(orderId, {
        status: charge.status === 'succeeded' ? 'CAPTURED' : 'DECLINED',
        amount: totalAmount,
        currency,
        paymentId: charge.chargeId,
        ...(charge.status === 'declined' ? { reason: 'CARD_DECLINED' } : {}),
      });
    }
    const outcome = entry.changed ? 'done' : 'duplicate';
    if (entry.status === 'CAPTURED' && entry.cancelled) {
      await refund(ctx, gateway, ledger, entry);
      return outcome;
    }
    if (entry.status === 'CAPTURED') {
      await ctx.publish('PaymentCaptured', { orderId, amount: totalAmount, currency, paymentId: entry.paymentId! }, { eventId: derivedEventId(orderId, 'PaymentCaptured') });
    } else if (entry.status === 'DECLINED') {
      await ctx.publish('PaymentDeclined', { orderId, reason: entry.reason ?? 'CARD_DECLINED' }, { eventId: derivedEventId(orderId, 'PaymentDeclined') });
    }
    return outcome;
  };
}

/** Compensation: refunds a capture exactly once; marks a not-yet-charged order so that it is never charged. */
export function onOrderCancelled({ gateway, ledger }: PaymentDeps): EventHandler<OrderCancelled> {
  return async (ctx) => {
    const entry = await ledger.markCancelled(ctx.event.orderId);
    if (entry.status === 'CAPTURED' || entry.status === 'REFUNDED') await refund(ctx, gateway, ledger, entry);
    return entry.changed ? 'done' : 'duplicate';
  };
}

async function refund(ctx: MessageContext, gateway: SimulatedGateway, ledger: Ledger, entry: LedgerEntry): Promise<void> {
  const { orderId } = entry;
  const { refundId } = await gateway.refund({ idempotencyKey: `refund:${orderId}`, orderId, chargeId: entry.paymentId! });
  await ledger.markRefunded(orderId, refundId);
  await ctx.publish(
    'PaymentRefunded',
    { orderId, amount: entry.amount!, currency: entry.currency!, paymentId: entry.paymentId! },
    { eventId: derivedEventId(orderId, 'PaymentRefunded') },
  );
}
