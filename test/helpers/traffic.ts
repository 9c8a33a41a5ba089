import { randomUUID } from 'node:crypto';
import { http, orderRequest } from './api';
import { sleep } from './wait';

export interface Traffic {
  /** Ids of orders the API accepted (202). */
  accepted: string[];
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
  const traffic: Traffic = { accepted: [], unavailable: 0, done: Promise.resolve() };
  const one = async (i: number) => {
    const key = randomUUID();
    const body = orderRequest({
      customerId: `chaos-${i}`,
      items: [{ productId: i % 5 === 0 ? products.outOfStock : products.inStock, quantity: 1 + (i % 2) }],
      paymentToken: i % 7 === 0 ? 'tok_decline' : 'tok_visa',
      totalAmount: 5 + i,
    });
    for (let attempt = 0; attempt < 600; attempt++) {
      const r = await http('POST', `${api}/orders`, body, { 'idempotency-key': key }).catch(() => ({ status: 0, body: undefined }));
      if (r.status === 202) {
        traffic.accepted.push(r.body.orderId);
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
