import assert from 'node:assert/strict';
import { http } from './api';
import { waitFor } from './wait';

/** The `Authorization` header of the ops ports' admin routes, or none for a fleet without an ops token. */
export const opsHeaders = (opsToken: string | undefined): Record<string, string> =>
  opsToken ? { authorization: `Bearer ${opsToken}` } : {};

export interface PlacedOrder {
  orderId: string;
  items: { productId: string; quantity: number }[];
}

export interface OrderOutcome {
  orderId: string;
  status: 'CONFIRMED' | 'CANCELLED';
  reason?: string;
  items: { productId: string; quantity: number }[];
}

/** Waits until every order has reached CONFIRMED or CANCELLED; returns their final views. */
export async function awaitFinal(api: string, orderIds: readonly string[], timeoutMs = 60_000): Promise<Map<string, OrderOutcome>> {
  const { final, timedOut } = await collectFinal(api, orderIds, timeoutMs);
  if (timedOut) throw timedOut;
  return final;
}

/**
 * {@link awaitFinal} that does not throw: the final views of the orders that ended within `timeoutMs`, and the
 * error awaitFinal would have thrown if some did not (the ones missing from `final` are still open or unknown).
 */
export async function collectFinal(
  api: string,
  orderIds: readonly string[],
  timeoutMs = 60_000,
): Promise<{ final: Map<string, OrderOutcome>; timedOut?: Error }> {
  const final = new Map<string, OrderOutcome>();
  const timedOut = await waitFor(
    `${orderIds.length} orders to end`,
    async () => {
      const open = orderIds.filter((id) => !final.has(id));
      for (let i = 0; i < open.length; i += 50) {
        await Promise.all(
          open.slice(i, i + 50).map(async (id) => {
            const { status, body } = await http('GET', `${api}/orders/${id}`);
            if (status === 200 && body.status !== 'PENDING') final.set(id, body as OrderOutcome);
          }),
        );
      }
      return final.size === orderIds.length || undefined;
    },
    timeoutMs,
    250,
  ).then(
    () => undefined,
    (error: Error) => error,
  );
  return timedOut ? { final, timedOut } : { final };
}

/**
 * Checks docs/contract.md's invariants from outside: stock per product (final = initial − Σ confirmed), nothing left
 * reserved, at most one capture per order, confirmed orders captured and not refunded, cancelled ones holding no
 * money. Waits for compensation to settle before asserting.
 */
export async function assertInvariants(
  urls: { api: string; inventory: string; payment: string; opsToken?: string },
  initialStock: Record<string, number>,
  outcomes: Map<string, OrderOutcome>,
): Promise<void> {
  // Stock and the ledger are admin reads: with an ops token set they need it (shared/http/ops-auth.ts).
  const ops = opsHeaders(urls.opsToken);
  const expected: Record<string, number> = { ...initialStock };
  for (const o of outcomes.values()) {
    assert.ok(o.status === 'CONFIRMED' || o.status === 'CANCELLED', `order ${o.orderId} ended ${o.status}`);
    if (o.status === 'CONFIRMED') for (const line of o.items) expected[line.productId] = (expected[line.productId] ?? 0) - line.quantity;
  }
  await waitFor(
    'stock to settle',
    async () => {
      for (const [productId, available] of Object.entries(expected)) {
        const { body } = await http('GET', `${urls.inventory}/stock/${productId}`, undefined, ops);
        if (body.available !== available || body.reserved !== 0) return undefined;
      }
      return true;
    },
    30_000,
    250,
  ).catch(async (error: Error) => {
    const actual = await Promise.all(
      Object.keys(expected).map(async (p) => (await http('GET', `${urls.inventory}/stock/${p}`, undefined, ops)).body),
    );
    assert.fail(`${error.message}; expected available ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  });
  for (const o of outcomes.values()) {
    await waitFor(
      `payment of ${o.orderId} to settle`,
      async () => {
        const { status, body } = await http('GET', `${urls.payment}/payments/${o.orderId}`, undefined, ops);
        if (status === 404) return o.status === 'CANCELLED' || undefined;
        assert.ok(body.captures <= 1, `order ${o.orderId} captured ${body.captures} times`);
        if (o.status === 'CONFIRMED') return (body.status === 'CAPTURED' && body.captures === 1 && body.refunds === 0) || undefined;
        return (body.captures === body.refunds && body.status !== 'CAPTURED') || undefined;
      },
      30_000,
      250,
    );
  }
}

/**
 * Checks each order ended as what it asked for (traffic.ts Expected), not merely CONFIRMED or CANCELLED: an
 * approvable in-stock order that ends TIMEOUT, or is cancelled at all, is a lost sale even when every stock and
 * ledger invariant holds. `timeoutAllowed` only where the scenario itself causes timeouts.
 */
export function assertOutcomesAsExpected(
  outcomes: Map<string, OrderOutcome>,
  expected: ReadonlyMap<string, string>,
  { timeoutAllowed = false } = {},
): void {
  const { wrong } = compareOutcomes(outcomes, expected, { timeoutAllowed });
  assert.deepEqual(wrong, [], `${wrong.length} of ${expected.size} orders ended otherwise than they asked`);
}

/** Per expected kind: how many orders asked for it, and how they ended (`CONFIRMED`, a reason, or `missing`). */
export type OutcomeTally = Record<string, { orders: number; asExpected: number; ended: Record<string, number> }>;

/**
 * {@link assertOutcomesAsExpected}'s comparison, counted instead of asserted: `wrong` lists the orders that ended
 * otherwise than they asked (`<id>: expected <kind>, ended <what>`), `byKind` tallies every order by what it asked.
 */
export function compareOutcomes(
  outcomes: Map<string, OrderOutcome>,
  expected: ReadonlyMap<string, string>,
  { timeoutAllowed = false } = {},
): { wrong: string[]; byKind: OutcomeTally } {
  const wrong: string[] = [];
  const byKind: OutcomeTally = {};
  for (const [orderId, want] of expected) {
    const got = outcomes.get(orderId);
    const ended = got?.status === 'CONFIRMED' ? 'CONFIRMED' : (got?.reason ?? got?.status ?? 'missing');
    const ok = want.split('|').includes(ended) || (timeoutAllowed && ended === 'TIMEOUT');
    if (!ok) wrong.push(`${orderId}: expected ${want}, ended ${ended}`);
    const kind = (byKind[want] ??= { orders: 0, asExpected: 0, ended: {} });
    kind.orders++;
    if (ok) kind.asExpected++;
    kind.ended[ended] = (kind.ended[ended] ?? 0) + 1;
  }
  return { wrong, byKind };
}
