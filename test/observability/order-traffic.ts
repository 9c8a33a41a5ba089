import { http, orderRequest } from '../helpers/api';
import { sleep } from '../helpers/wait';

/** Orders of every kind, one after another until stopped: in stock, out of stock, declined, flaky, and invalid ones. */
export function driveOrders(api: string): { stop: () => Promise<number> } {
  let running = true;
  let placed = 0;
  const kinds = [
    orderRequest({ items: [{ productId: 'OBS-IN', quantity: 1 }] }),
    orderRequest({ items: [{ productId: 'OBS-OUT', quantity: 1 }] }),
    orderRequest({ items: [{ productId: 'OBS-IN', quantity: 2 }], paymentToken: 'tok_decline' }),
    orderRequest({ items: [{ productId: 'OBS-IN', quantity: 1 }], paymentToken: 'tok_flaky' }),
    { ...orderRequest(), items: [] },
  ];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      // A customer per order: one customer would meet ORDER_RATE_LIMIT (120 a minute) and the rates would go quiet.
      const r = await http('POST', `${api}/orders`, { ...kinds[i % kinds.length], customerId: `obs-${i}` }).catch(() => undefined);
      if (r?.status === 202) {
        placed++;
        await http('GET', `${api}/orders/${r.body.orderId}`).catch(() => undefined);
      }
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return placed;
    },
  };
}
