import { http } from './api';
import { opsHeaders, type OrderOutcome } from './invariants';

export interface EffectCounts {
  orders: number;
  confirmed: number;
  cancelled: number;
  /** Orders that never ended, plus confirmed orders missing their capture or stock. */
  lost: number;
  /** Captures beyond one per order, money kept by cancelled orders, and stock taken beyond the confirmed sum. */
  duplicated: number;
}

/** Optional to {@link countEffects}; the defaults are what the chaos tests use. */
export interface CountOptions {
  /** Ledger reads in flight at once (a soak checks hundreds of thousands of orders). @defaultValue 1 */
  concurrency?: number;
  /** Given, each counted loss or duplicate is also described here, naming the order or product. */
  problems?: string[];
}

/** Counts lost and duplicated effects from outside, after the fleet has settled. */
export async function countEffects(
  urls: { inventory: string; payment: string; opsToken?: string },
  initial: Record<string, number>,
  orderIds: readonly string[],
  outcomes: Map<string, OrderOutcome>,
  { concurrency = 1, problems }: CountOptions = {},
): Promise<EffectCounts> {
  const counts: EffectCounts = { orders: orderIds.length, confirmed: 0, cancelled: 0, lost: 0, duplicated: 0 };
  const expected: Record<string, number> = { ...initial };
  const one = async (id: string) => {
    const o = outcomes.get(id);
    if (!o) {
      counts.lost++;
      problems?.push(`${id}: never ended`);
      return;
    }
    const { status, body } = await http('GET', `${urls.payment}/payments/${id}`, undefined, opsHeaders(urls.opsToken));
    const captures = status === 200 ? body.captures : 0;
    const refunds = status === 200 ? body.refunds : 0;
    counts.duplicated += Math.max(0, captures - 1);
    if (captures > 1) problems?.push(`${id}: ${o.status}, captured ${captures} times`);
    if (o.status === 'CONFIRMED') {
      counts.confirmed++;
      if (captures < 1 || refunds > 0) {
        counts.lost++;
        problems?.push(`${id}: CONFIRMED with ${captures} captures and ${refunds} refunds`);
      }
      for (const line of o.items) expected[line.productId] = (expected[line.productId] ?? 0) - line.quantity;
    } else {
      counts.cancelled++;
      if (captures - refunds > 0) {
        counts.duplicated++;
        problems?.push(`${id}: CANCELLED ${o.reason ?? ''} keeps money (${captures} captures, ${refunds} refunds)`);
      }
    }
  };
  for (let i = 0; i < orderIds.length; i += concurrency) await Promise.all(orderIds.slice(i, i + concurrency).map(one));
  for (const [productId, want] of Object.entries(expected)) {
    const { body } = await http('GET', `${urls.inventory}/stock/${productId}`, undefined, opsHeaders(urls.opsToken));
    if (body.available < want) counts.duplicated += want - body.available;
    if (body.available > want) counts.lost += body.available - want;
    if (body.reserved !== 0) counts.lost += Math.abs(body.reserved);
    if (body.available !== want || body.reserved !== 0)
      problems?.push(`${productId}: available ${body.available} (expected ${want}), reserved ${body.reserved}`);
  }
  return counts;
}
