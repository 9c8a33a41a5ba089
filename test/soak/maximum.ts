import { placeOverHttp } from '../bench/lib/drive';
import { EXCHANGE, PRODUCTS } from '../bench/lib/payload';
import { connectRaw, Sink } from '../bench/lib/raw';
import { steadyRate } from '../bench/lib/stats';
import { http } from '../helpers/api';

/** What the start-up measurement found. */
export interface Maximum {
  perSecond: number;
  orders: number;
  clients: number;
  seconds: number;
}

const WARM_UP_ORDERS = 300;
const BURST_ORDERS = 3000;
/** As the bench's fleet scenario: with fewer, the rate is bound by each client waiting for its 202. */
const CLIENTS = 128;

/**
 * The fleet's maximum, as the bench's fleet scenario measures it but once (a few seconds): a warm-up, then a fixed
 * burst through the HTTP API by 128 keep-alive clients, closed loop, timing the `order.confirmed` events at a sink
 * on the exchange; the rate is the middle 80 % of them over the time they took. The burst orders use the bench's
 * products (stocked here), never the soak's, so they weigh on no stock the soak checks.
 */
export async function measureMaximum(api: string, inventoryOps: string, amqpUrl: string): Promise<Maximum> {
  for (const product of PRODUCTS) await http('PUT', `${inventoryOps}/stock/${product}`, { available: 100_000_000 });
  const connection = await connectRaw(amqpUrl, 'soak-maximum');
  try {
    const sink = await Sink.open(connection, EXCHANGE, ['order.confirmed', 'order.cancelled']);
    await placeOverHttp(api, WARM_UP_ORDERS, CLIENTS);
    await sink.waitFor(WARM_UP_ORDERS, 120_000);
    sink.reset();
    const started = performance.now();
    const placed = await placeOverHttp(api, BURST_ORDERS, CLIENTS);
    await sink.waitFor(placed.size, 180_000);
    const seconds = (performance.now() - started) / 1000;
    await sink.close();
    return { perSecond: steadyRate(sink.arrivals), orders: placed.size, clients: CLIENTS, seconds };
  } finally {
    await connection.close().catch(() => undefined);
  }
}
