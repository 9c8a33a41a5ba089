import { randomUUID } from 'node:crypto';
import * as api from '../helpers/api';
import { countEffects, type EffectCounts } from '../helpers/effects';
import { assertInvariants, type OrderOutcome } from '../helpers/invariants';
import { bearer } from '../helpers/tokens';
import { sleep, waitFor } from '../helpers/wait';

/** docs/deploy.md's price list (config.PRICE_LIST): every order's total must match it. */
export const UNIT_PRICE_USD: Readonly<Record<string, number>> = { P001: 75, P002: 20 };
/** P001 is stocked by the test; P002 is kept at 0, so ordering it ends OUT_OF_STOCK. */
export const PRODUCTS = { inStock: 'P001', outOfStock: 'P002' } as const;

/** How long one request may take: a port-forward that stopped passing bytes must not hold a client forever. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long a careful client keeps retrying one order (pods rolling or killed, port-forwards following them). */
const PLACE_DEADLINE_MS = 180_000;

/** test/helpers/api.ts `http()` with a deadline per request: a port-forward can stay up and pass nothing. */
const http = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
  api.http(method, url, body, headers, REQUEST_TIMEOUT_MS);

export interface OrderLine {
  productId: string;
  quantity: number;
}

/** Where the shop answers (127.0.0.1 ports forwarded into the cluster) and the credentials it takes. */
export interface ShopOptions {
  api: string;
  inventory: string;
  payment: string;
  /** Bearer token of a customer (minted with the identity provider's key). */
  token: (customerId: string) => Promise<string>;
  opsToken: string;
}

/** Orders placed so far by a load run, and how often the API turned a client away. */
export interface LoadResult {
  accepted: string[];
  /** Answers 503 (a dependency away, or a pod draining), then retried with the same Idempotency-Key. */
  unavailable: number;
  /** Connections refused, reset or timed out (a port-forward following its pod away), then retried with the same key. */
  dropped: number;
}

/**
 * The order API and the ops ports as a careful client uses them: a customer's JWT on every order call, an
 * Idempotency-Key per order, retried with that key on 503 or a dropped connection, so no order is placed twice.
 */
export class Shop {
  private readonly tokens = new Map<string, Promise<string>>();
  /** Who placed each order: only that customer's token may read it back. */
  private readonly owners = new Map<string, string>();

  constructor(private readonly options: ShopOptions) {}

  private headers(customerId: string): Promise<Record<string, string>> {
    if (!this.tokens.has(customerId)) this.tokens.set(customerId, this.options.token(customerId));
    return this.tokens.get(customerId)!.then(bearer);
  }

  async setStock(productId: string, available: number): Promise<void> {
    const r = await http('PUT', `${this.options.inventory}/stock/${productId}`, { available }, bearer(this.options.opsToken));
    if (r.status !== 200) throw new Error(`PUT /stock/${productId}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  async stock(productIds: readonly string[]): Promise<Record<string, number>> {
    const stock: Record<string, number> = {};
    // An admin read: the ops token, as for PUT (shared/http/ops-auth.ts).
    for (const id of productIds)
      stock[id] = (await http('GET', `${this.options.inventory}/stock/${id}`, undefined, bearer(this.options.opsToken))).body.available;
    return stock;
  }

  /** The raw answer to one order request, no retry (for checks of the API's refusals). */
  async post(body: unknown, headers: Record<string, string>) {
    return http('POST', `${this.options.api}/orders`, body, headers);
  }

  /** Places one order; retries as a careful client does. `counts` collects the retries of a load run. */
  async place(customerId: string, items: OrderLine[], paymentToken: string, counts?: LoadResult): Promise<string> {
    const key = randomUUID();
    const totalAmount = items.reduce((sum, line) => sum + line.quantity * UNIT_PRICE_USD[line.productId]!, 0);
    const body = { items, totalAmount, currency: 'USD', paymentToken };
    const headers = { ...(await this.headers(customerId)), 'idempotency-key': key };
    for (let attempt = 0, deadline = Date.now() + PLACE_DEADLINE_MS; Date.now() < deadline; attempt++) {
      const r = await http('POST', `${this.options.api}/orders`, body, headers).catch(() => ({ status: 0, body: undefined }));
      if (r.status === 202) {
        this.owners.set(r.body.orderId, customerId);
        return r.body.orderId as string;
      }
      if (r.status !== 503 && r.status !== 0) throw new Error(`order refused: ${r.status} ${JSON.stringify(r.body)}`);
      if (counts) counts[r.status === 503 ? 'unavailable' : 'dropped']++;
      // Backing off (0.2 s to 2 s): a hundred orders in flight must not hammer a forward that is starting again.
      await sleep(Math.min(2000, 200 * 2 ** attempt));
    }
    throw new Error(`an order of ${customerId} was not accepted within ${PLACE_DEADLINE_MS / 1000} s`);
  }

  /**
   * Orders at about `perSecond` until `stop()`: every 7th declined, every 5th for the product out of stock, the rest
   * should confirm. `stop()` waits for the orders in flight to be accepted.
   */
  load(perSecond: number): { stop(): Promise<LoadResult> } {
    const result: LoadResult = { accepted: [], unavailable: 0, dropped: 0 };
    const inFlight: Promise<void>[] = [];
    const failures: Error[] = [];
    let running = true;
    const ticking = (async () => {
      for (let i = 1; running; i++) {
        const productId = i % 5 === 0 ? PRODUCTS.outOfStock : PRODUCTS.inStock;
        const order = this.place(
          `k8s-load-${i % 8}`,
          [{ productId, quantity: 1 + (i % 2) }],
          i % 7 === 0 ? 'tok_decline' : 'tok_visa',
          result,
        );
        inFlight.push(
          order.then(
            (id) => void result.accepted.push(id),
            (error: Error) => void failures.push(error),
          ),
        );
        await sleep(1000 / perSecond);
      }
    })();
    return {
      async stop() {
        running = false;
        await ticking;
        await Promise.all(inFlight);
        if (failures.length > 0) throw new Error(`${failures.length} orders failed, first: ${failures[0]!.message}`);
        return result;
      },
    };
  }

  /** Waits until every order is CONFIRMED or CANCELLED, read back with its customer's token; their final views. */
  async awaitFinal(orderIds: readonly string[], timeoutMs = 120_000): Promise<Map<string, OrderOutcome>> {
    const final = new Map<string, OrderOutcome>();
    await waitFor(
      `${orderIds.length} orders to end`,
      async () => {
        const open = orderIds.filter((id) => !final.has(id));
        for (let i = 0; i < open.length; i += 25) {
          await Promise.all(
            open.slice(i, i + 25).map(async (id) => {
              const { status, body } = await http(
                'GET',
                `${this.options.api}/orders/${id}`,
                undefined,
                await this.headers(this.owners.get(id)!),
              );
              if (status === 200 && body.status !== 'PENDING') final.set(id, body as OrderOutcome);
            }),
          );
        }
        return final.size === orderIds.length || undefined;
      },
      timeoutMs,
      500,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; ${orderIds.length - final.size} still open, e.g. ${orderIds.find((id) => !final.has(id))}`);
    });
    return final;
  }

  /**
   * docs/contract.md's invariants from outside: every order ended; stock per product = initial − Σ confirmed with
   * nothing reserved; at most one capture per order; confirmed orders captured and not refunded; cancelled ones
   * holding no money. Returns the effect counts (lost and duplicated are 0 when this returns).
   */
  async assertInvariants(initial: Record<string, number>, orderIds: readonly string[]): Promise<EffectCounts> {
    const outcomes = await this.awaitFinal(orderIds);
    const { api, inventory, payment, opsToken } = this.options;
    const urls = { api, inventory, payment, opsToken };
    await assertInvariants(urls, initial, outcomes);
    const counts = await countEffects(urls, initial, orderIds, outcomes);
    if (counts.lost !== 0 || counts.duplicated !== 0) throw new Error(`effects lost or duplicated: ${JSON.stringify(counts)}`);
    return counts;
  }
}
