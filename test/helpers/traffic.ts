import { randomUUID } from 'node:crypto';
import { http, orderRequest } from './api';
import { sleep } from './wait';

/**
 * How an order must end, by what it asked for: an in-stock product with an approving token is CONFIRMED; a declined
 * token is CANCELLED PAYMENT_DECLINED; an out-of-stock product CANCELLED OUT_OF_STOCK; both, either reason (the
 * workers race). TIMEOUT is never expected: only a scenario that causes one may accept it.
 */
export type Expected = 'CONFIRMED' | 'PAYMENT_DECLINED' | 'OUT_OF_STOCK' | 'OUT_OF_STOCK|PAYMENT_DECLINED';

export interface Traffic {
  /** Ids of orders the API accepted (202). */
  accepted: string[];
  /** What each accepted order must end as. */
  expected: Map<string, Expected>;
  /** 503s answered while a dependency was away (then retried with the same Idempotency-Key). */
  unavailable: number;
  /** With `onSchedule`: the most an order went out behind its time, in ms (a full `maxInFlight` holds orders back). */
  lagMs?: number;
  done: Promise<void>;
}

/** How {@link placeOrders} paces and retries; the defaults are what the chaos tests use. */
export interface PlaceOptions {
  /**
   * Send the i-th order at i / perSecond after the first (open loop, no drift), rather than waiting 1 / perSecond
   * after each send: at hundreds a second, timer granularity makes the fixed wait fall well short of the rate.
   */
  onSchedule?: boolean;
  /** The wait before the next attempt after `attempt` (0, 1, ...) was refused or reset. @defaultValue 200 ms */
  retryDelayMs?: (attempt: number) => number;
  /**
   * At most this many orders between their first attempt and their 202, as a pool of clients: while the API is
   * away, later orders wait for a free client instead of joining an ever larger crowd of retries. @defaultValue unbounded
   */
  maxInFlight?: number;
}

/**
 * Places `count` orders at about `perSecond`, as a careful client would: each with its own Idempotency-Key, and
 * retried with that key on 503 or a dropped connection, so that an order is never placed twice.
 * Every 7th is declined, every 5th asks for an out-of-stock product; the rest should confirm.
 */
export function placeOrders(
  api: string,
  count: number,
  perSecond: number,
  products: { inStock: string; outOfStock: string },
  options: PlaceOptions = {},
): Traffic {
  const retryDelayMs = options.retryDelayMs ?? (() => 200);
  const traffic: Traffic = { accepted: [], expected: new Map(), unavailable: 0, done: Promise.resolve() };
  const one = async (i: number) => {
    const key = randomUUID();
    const outOfStock = i % 5 === 0;
    const declined = i % 7 === 0;
    const expected: Expected =
      outOfStock && declined ? 'OUT_OF_STOCK|PAYMENT_DECLINED' : outOfStock ? 'OUT_OF_STOCK' : declined ? 'PAYMENT_DECLINED' : 'CONFIRMED';
    const body = orderRequest({
      customerId: `chaos-${i}`,
      items: [{ productId: outOfStock ? products.outOfStock : products.inStock, quantity: 1 + (i % 2) }],
      paymentToken: declined ? 'tok_decline' : 'tok_visa',
      totalAmount: 5 + i,
    });
    for (let attempt = 0; attempt < 600; attempt++) {
      const r = await http('POST', `${api}/orders`, body, { 'idempotency-key': key }).catch(() => ({ status: 0, body: undefined }));
      if (r.status === 202) {
        traffic.accepted.push(r.body.orderId);
        traffic.expected.set(r.body.orderId, expected);
        return;
      }
      if (r.status === 503) traffic.unavailable++;
      await sleep(retryDelayMs(attempt));
    }
    throw new Error(`order ${i} was never accepted`);
  };
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  let open = 0;
  let freed: (() => void) | undefined;
  const release = () => {
    open--;
    freed?.();
  };
  traffic.done = (async () => {
    const inFlight: Promise<void>[] = [];
    const startedAt = Date.now();
    if (options.onSchedule) traffic.lagMs = 0;
    for (let i = 0; i < count; i++) {
      while (open >= maxInFlight) await new Promise<void>((resolve) => (freed = resolve));
      freed = undefined;
      if (options.onSchedule) traffic.lagMs = Math.max(traffic.lagMs ?? 0, Date.now() - (startedAt + (i * 1000) / perSecond));
      open++;
      const placed = one(i).finally(release);
      // Awaited by Promise.all below, which a long run reaches only at its end: not an unhandled rejection meanwhile.
      placed.catch(() => undefined);
      inFlight.push(placed);
      const wait = options.onSchedule ? startedAt + ((i + 1) * 1000) / perSecond - Date.now() : 1000 / perSecond;
      if (!options.onSchedule || wait > 0) await sleep(wait);
    }
    await Promise.all(inFlight);
  })();
  return traffic;
}
