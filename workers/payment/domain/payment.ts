/**
 * The payment decision, pure: given where one order's payment stands, whether to charge, what to publish, and
 * whether to refund. The handlers do the I/O (ledger, gateway, publish) around it; every answer is the same on a
 * redelivery, which is what makes a redelivered event re-publish the same outcome instead of charging again.
 */

export type PaymentStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED';

/** Where one order's payment stands, as the ledger keeps it. */
export interface PaymentState {
  /** Absent until the gateway answered a charge. */
  status?: PaymentStatus;
  /** `order.cancelled` arrived: a capture must then be refunded, and no charge may start. */
  cancelled: boolean;
  /** Why a charge was declined. */
  reason?: string;
}

export const CARD_DECLINED = 'CARD_DECLINED';

/** The gateway's idempotency keys: one charge and one refund per order, however often either is asked for. */
export const chargeKey = (orderId: string): string => `charge:${orderId}`;
export const refundKey = (orderId: string): string => `refund:${orderId}`;

/**
 * What a placed order needs of the gateway: `charge` it; `skip` it (cancelled before it was charged: it must never
 * be); or nothing more, its charge is `answered` (a redelivery, or a retry after the answer was recorded).
 */
export type ChargeDecision = 'charge' | 'skip' | 'answered';

export function chargeDecision(state: PaymentState): ChargeDecision {
  if (state.status) return 'answered';
  return state.cancelled ? 'skip' : 'charge';
}

/** How the ledger records a gateway's answer. A decline is a business outcome, never a failure. */
export function chargeOutcome(answer: 'succeeded' | 'declined'): { status: 'CAPTURED' | 'DECLINED'; reason?: string } {
  return answer === 'succeeded' ? { status: 'CAPTURED' } : { status: 'DECLINED', reason: CARD_DECLINED };
}

/**
 * What follows a placed order's answered charge: publish the capture or the decline; refund a capture whose
 * order was cancelled meanwhile; nothing once refunded (the cancellation published that) or before any answer.
 */
export type Settlement = { kind: 'captured' } | { kind: 'declined'; reason: string } | { kind: 'refund' } | { kind: 'none' };

export function settlementOf(state: PaymentState): Settlement {
  switch (state.status) {
    case 'CAPTURED':
      return state.cancelled ? { kind: 'refund' } : { kind: 'captured' };
    case 'DECLINED':
      return { kind: 'declined', reason: state.reason ?? CARD_DECLINED };
    default:
      return { kind: 'none' };
  }
}

/**
 * Whether a cancelled order's payment is refunded: a capture is; a refund already made is asked for again (the
 * gateway replays it by key) so that its outcome is re-published; a decline or no charge has nothing to give back.
 */
export function refundsOnCancel(state: PaymentState): boolean {
  return state.status === 'CAPTURED' || state.status === 'REFUNDED';
}
