import type { PaymentState } from '../domain/payment';

/** One order's payment state, with what the gateway answered. */
export interface LedgerEntry extends PaymentState {
  orderId: string;
  /** `order.confirmed` was seen: a cancel of this order is refused, nothing is refunded. */
  confirmed: boolean;
  amount?: number;
  currency?: string;
  paymentId?: string;
  /** True when the call that returned this entry changed it. */
  changed: boolean;
}

/** The gateway's answer to a charge, as the ledger keeps it. */
export interface ChargeOutcome {
  status: 'CAPTURED' | 'DECLINED';
  amount: number;
  currency: string;
  paymentId: string;
  reason?: string;
}

/**
 * The payment service's ledger: per order, the terms of its first `OrderPlaced`, the gateway's answer, and whether
 * the order was cancelled or confirmed. Each call is atomic and answers the entry as it stands after it; the first
 * answer recorded wins. An order id that breaks the id rule is refused (`InvalidIdError`).
 * Implementations: `Ledger` (Redis, ledger.ts) and `MemoryLedger` (memory-ledger.ts), checked by one conformance
 * suite (test/conformance/ledger.conformance.ts).
 */
export interface PaymentLedger {
  /** The entry as it stands; an order never seen has no status (`changed` is false). */
  get(orderId: string): Promise<LedgerEntry>;
  /**
   * The order's entry, after keeping the amount and currency of the first `OrderPlaced` seen for it (`changed` is
   * false: terms are no effect). Throws `ConflictingEventError` for one with other terms: it is never charged.
   */
  observe(orderId: string, terms: { amount: number; currency: string }): Promise<LedgerEntry>;
  /** Keeps the gateway's first answer; a later one changes nothing and gets the first back (`changed: false`). */
  recordCharge(orderId: string, outcome: ChargeOutcome): Promise<LedgerEntry>;
  /** Marks the order cancelled, once. Throws `ConflictingEventError` for a confirmed order: nothing is refunded. */
  markCancelled(orderId: string): Promise<LedgerEntry>;
  /**
   * Records that the order was confirmed, so that a later cancel is refused; false for a duplicate. Throws
   * `ConflictingEventError` for an order with no standing capture (never captured, declined, or cancelled).
   */
  markConfirmed(orderId: string): Promise<boolean>;
  /** Marks a capture refunded; false when there is no capture (never charged, declined, or refunded already). */
  markRefunded(orderId: string, refundId: string): Promise<boolean>;
}
