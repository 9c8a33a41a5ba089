import { http } from './api';
import type { OrderOutcome } from './invariants';

export interface EffectCounts {
  orders: number;
  confirmed: number;
  cancelled: number;
  /** Orders that never ended, plus confirmed orders missing their capture or stock. */
  lost: number;
  /** Captures beyond one per order, money kept by cancelled orders, and stock taken beyond the confirmed sum. */
  duplicated: number;
}

/** Counts lost and duplicated effects from outside, after the fleet has settled. */
export async function countEffects(
  urls: { inventory: string; payment: string },
  initial: Record<string, number>,
  orderIds: readonly string[],
  outcomes: Map<string, OrderOutcome>,
): Promise<EffectCounts> {
  const counts: EffectCounts = { orders: orderIds.length, confirmed: 0, cancelled: 0, lost: 0, duplicated: 0 };
  const expected: Record<string, number> = { ...initial };
  for (const id of orderIds) {
    const o = outcomes.get(id);
    if (!o) {
      counts.lost++;
      continue;
    }
    const { status, body } = await http('GET', `${urls.payment}/payments/${id}`);
    const captures = status === 200 ? body.captures : 0;
    const refunds = status === 200 ? body.refunds : 0;
    counts.duplicated += Math.max(0, captures - 1);
    if (o.status === 'CONFIRMED') {
      counts.confirmed++;
      if (captures < 1 || refunds > 0) counts.lost++;
      for (const line of o.items) expected[line.productId] = (expected[line.productId] ?? 0) - line.quantity;
    } else {
      counts.cancelled++;
      if (captures - refunds > 0) counts.duplicated++;
    }
  }
  for (const [productId, want] of Object.entries(expected)) {
    const { body } = await http('GET', `${urls.inventory}/stock/${productId}`);
    if (body.available < want) counts.duplicated += want - body.available;
    if (body.available > want) counts.lost += body.available - want;
    if (body.reserved !== 0) counts.lost += Math.abs(body.reserved);
  }
  return counts;
}
