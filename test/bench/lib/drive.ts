import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import { orderPlaced, PRODUCTS, rawMessage } from './payload';
import { publishPaced, publishPipelined } from './raw';

/** When each order was placed (performance.now()), by order id. */
export type Placed = Map<string, number>;

/** Orders straight onto the exchange as `order.placed` (what an outside publisher does), pipelined, window 300. */
export async function placeOnExchange(raw: ChannelModel, count: number): Promise<Placed> {
  const ch = await raw.createConfirmChannel();
  const placed: Placed = new Map();
  await publishPipelined(ch, count, 300, (i) => {
    const event = orderPlaced(i);
    placed.set(event.orderId, performance.now());
    return rawMessage(event, 'order.placed');
  });
  await ch.close();
  return placed;
}

/** Orders onto the exchange at a fixed rate, open loop, each confirmed by the broker. */
export async function placeOnExchangePaced(raw: ChannelModel, ratePerSecond: number, durationMs: number): Promise<Placed> {
  const ch = await raw.createConfirmChannel();
  const placed: Placed = new Map();
  await publishPaced(ch, ratePerSecond, durationMs, (i) => {
    const event = orderPlaced(i);
    placed.set(event.orderId, performance.now());
    return rawMessage(event, 'order.placed');
  });
  await ch.close();
  return placed;
}

export function orderBody(i: number): string {
  return JSON.stringify({
    customerId: `bench-${i % 1000}`,
    items: [
      { productId: PRODUCTS[i % PRODUCTS.length], quantity: 1 },
      { productId: PRODUCTS[(i + 1) % PRODUCTS.length], quantity: 2 },
    ],
    totalAmount: 42.5,
    currency: 'USD',
    paymentToken: 'tok_visa',
  });
}

// node:http with keep-alive rather than fetch: the driver shares the machine's two cores with the fleet, and
// fetch costs several times more CPU per request.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

async function post(api: string, body: string, placed: Placed): Promise<void> {
  const sentAt = performance.now();
  const { status, text } = await send(api, body).catch((error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
    // The server closes a keep-alive connection idle for 5 s; a request sent on it as it closes is reset before
    // the server read it. Node's advice: send it again on a new connection.
    if (error.reusedSocket && error.code === 'ECONNRESET') return send(api, body);
    throw error;
  });
  const orderId = status === 202 ? (JSON.parse(text) as { orderId?: string }).orderId : undefined;
  if (!orderId) throw new Error(`POST /orders answered ${status}: ${text}`);
  placed.set(orderId, sentAt);
}

function send(api: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${api}/orders`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(body);
  });
}

/** Orders through the HTTP API by `concurrency` clients, each placing its next order once the last was accepted. */
export async function placeOverHttp(api: string, count: number, concurrency: number): Promise<Placed> {
  const placed: Placed = new Map();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await post(api, orderBody(next++), placed);
    }),
  );
  return placed;
}

/**
 * Orders through the HTTP API at a fixed rate, open loop (a slow answer does not slow the arrivals); `body` makes
 * the i-th order's JSON (default {@link orderBody}).
 */
export async function placeOverHttpPaced(
  api: string,
  ratePerSecond: number,
  durationMs: number,
  body: (i: number) => string = orderBody,
): Promise<Placed> {
  const placed: Placed = new Map();
  const startedAt = performance.now();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = startedAt + (i * 1000) / ratePerSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sent = post(api, body(i), placed);
    // Rejected before Promise.all below is reached (the loop runs for the whole duration): not unhandled.
    sent.catch(() => undefined);
    pending.push(sent);
  }
  await Promise.all(pending);
  return placed;
}
