import { ConflictingEventError } from '../../../shared/errors/errors';
import { idKey } from '../../../shared/redis/key-layout';
import type { PaymentStatus } from '../domain/payment';
import type { ChargeOutcome, LedgerEntry, PaymentLedger } from './payment-ledger';

interface Held {
  status?: PaymentStatus;
  amount?: number;
  currency?: string;
  paymentId?: string;
  reason?: string;
  refundId?: string;
  cancelled: boolean;
  confirmed: boolean;
}

/**
 * {@link PaymentLedger} in memory, for unit tests of the payment handlers: the Redis ledger's decisions and answers,
 * step for step (ledger.ts). Each method runs to its end without awaiting, so it is as atomic as a Redis function.
 * Entries never expire: the retention is days, longer than any test.
 */
export class MemoryLedger implements PaymentLedger {
  private readonly entries = new Map<string, Held>();

  async get(orderId: string): Promise<LedgerEntry> {
    return entryOf(orderId, this.held(orderId), false);
  }

  async observe(orderId: string, terms: { amount: number; currency: string }): Promise<LedgerEntry> {
    const held = this.held(orderId);
    if (held.amount === undefined) this.entries.set(key(orderId), { ...held, ...terms });
    else if (held.amount !== terms.amount || held.currency !== terms.currency)
      throw new ConflictingEventError(`OrderPlaced for ${orderId} has another amount or currency than the first one seen`);
    return entryOf(orderId, this.held(orderId), false);
  }

  async recordCharge(orderId: string, outcome: ChargeOutcome): Promise<LedgerEntry> {
    const held = this.held(orderId);
    if (held.status) return entryOf(orderId, held, false);
    const { reason, ...answer } = outcome;
    // An empty reason is kept as none, as the Redis ledger reads it back.
    this.entries.set(key(orderId), { ...held, ...answer, ...(reason ? { reason } : {}) });
    return entryOf(orderId, this.held(orderId), true);
  }

  async markCancelled(orderId: string): Promise<LedgerEntry> {
    const held = this.held(orderId);
    if (held.confirmed) throw new ConflictingEventError(`OrderCancelled for ${orderId}, which is CONFIRMED: refused, nothing refunded`);
    if (held.cancelled) return entryOf(orderId, held, false);
    this.entries.set(key(orderId), { ...held, cancelled: true });
    return entryOf(orderId, this.held(orderId), true);
  }

  async markConfirmed(orderId: string): Promise<boolean> {
    const held = this.held(orderId);
    if (held.confirmed) return false;
    if (held.status !== 'CAPTURED' || held.cancelled)
      throw new ConflictingEventError(`OrderConfirmed for ${orderId}, which this ledger holds no standing capture of`);
    this.entries.set(key(orderId), { ...held, confirmed: true });
    return true;
  }

  async markRefunded(orderId: string, refundId: string): Promise<boolean> {
    const held = this.held(orderId);
    if (held.status !== 'CAPTURED') return false;
    this.entries.set(key(orderId), { ...held, status: 'REFUNDED', refundId });
    return true;
  }

  private held(orderId: string): Held {
    return this.entries.get(key(orderId)) ?? { cancelled: false, confirmed: false };
  }
}

// The Redis ledger's key layout, without a prefix: an id it refuses (InvalidIdError) is refused here too.
const key = (orderId: string) => idKey('', 'payment', orderId);

/** A copy for the caller, with the fields an entry shows (the refund id stays inside, as in Redis). */
function entryOf(orderId: string, held: Held, changed: boolean): LedgerEntry {
  const { refundId: _refundId, ...shown } = held;
  return { orderId, ...shown, changed };
}
