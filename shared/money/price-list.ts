import { amountProblem, formatMinor, toMinorUnits } from './amount';
import { minorUnits } from './currency';

/**
 * The price authority: unit prices per product and currency, in minor units. It comes from configuration
 * (`PRICE_LIST`, JSON `{ "P001": { "USD": 150, "EUR": 139.5 } }`): the order service checks every order's total
 * against it, so a client cannot set its own price. docs/security.md says where it lives and how it changes.
 */
export type PriceList = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Parses `PRICE_LIST`; throws an Error whose message names the bad entry (config wraps it into one line). */
export function parsePriceList(json: string): PriceList {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('not JSON: expected {"<productId>": {"<currency>": <unit price>}}');
  }
  if (!isRecord(raw)) throw new Error('expected {"<productId>": {"<currency>": <unit price>}}');
  const list = new Map<string, Map<string, number>>();
  for (const [productId, prices] of Object.entries(raw)) {
    if (!isRecord(prices)) throw new Error(`${productId}: expected {"<currency>": <unit price>}`);
    const byCurrency = new Map<string, number>();
    for (const [currency, price] of Object.entries(prices)) {
      const problem = typeof price === 'number' ? amountProblem(price, currency) : { detail: 'expected a number' };
      if (problem) throw new Error(`${productId}.${currency}: ${problem.detail}`);
      byCurrency.set(currency, toMinorUnits(price as number, minorUnits(currency)!)!);
    }
    list.set(productId, byCurrency);
  }
  return list;
}

/** Why an order's lines and total do not match the price list: the field to blame, as a JSON pointer. */
export interface PriceProblem {
  field: string;
  detail: string;
}

/**
 * Checks an order against the price list: every product has a price in the order's currency, and the total is
 * exactly Σ quantity × unit price (compared in minor units, so no rounding is involved).
 */
export function priceProblem(
  prices: PriceList,
  order: { items: readonly { productId: string; quantity: number }[]; totalAmount: number; currency: string },
): PriceProblem | undefined {
  const digits = minorUnits(order.currency);
  if (digits === undefined) return { field: '/currency', detail: `"${order.currency}" is not an ISO 4217 currency accepted here` };
  let expected = 0;
  for (const [i, item] of order.items.entries()) {
    const unit = prices.get(item.productId)?.get(order.currency);
    if (unit === undefined) return { field: `/items/${i}/productId`, detail: `${item.productId} has no price in ${order.currency}` };
    expected += unit * item.quantity;
  }
  if (toMinorUnits(order.totalAmount, digits) !== expected)
    return { field: '/totalAmount', detail: `must be ${formatMinor(expected, digits)} ${order.currency} for these items` };
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
