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
  done: Promise<void>;
}

/**
 * Places `count` orders at about `perSecond`, as a careful client would: each with its own Idempotency-Key, and
 * retried with that key on 503 or a dropped connection, so that an order is never placed twice.
 * Every 7th is declined, every 5th asks for an out-of-stock product; the rest should confirm.
 */
export function placeOrders(api: string, count: number, perSecond: number, products: { inStock: string; outOfStock: string }): Traffic {
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
      await sleep(200);
    }
    throw new Error(`order ${i} was never accepted`);
  };
  traffic.done = (async () => {
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      inFlight.push(one(i));
      await sleep(1000 / perSecond);
    }
    await Promise.all(inFlight);
  })();
  return traffic;
}
