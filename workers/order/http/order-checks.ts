import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Caller } from '../../../shared/auth/token-verifier';
import { problemOf, type Problem } from '../../../shared/http/problem';
import { amountProblem } from '../../../shared/money/amount';
import { priceProblem, type PriceList } from '../../../shared/money/price-list';

/**
 * The customer an order is for. With authentication on it is the token's subject: a body naming another customer
 * is refused (403), since silently replacing it would hide a client bug or an attempt to order as someone else;
 * a body naming the same one, or none, is fine. With authentication off the body's customerId is all there is.
 */
export function customerOf(caller: Caller | undefined, bodyCustomerId: string | undefined): { customerId: string } | Problem {
  if (caller) {
    if (bodyCustomerId !== undefined && bodyCustomerId !== caller.customerId)
      return problemOf(403, 'customerId differs from the authenticated customer; leave it out', { field: '/customerId' });
    return { customerId: caller.customerId };
  }
  if (bodyCustomerId === undefined) return problemOf(400, '/customerId is required', { field: '/customerId' });
  return { customerId: bodyCustomerId };
}

/**
 * The amount is a whole number of the currency's minor units (at least one), and, with a price list, the total
 * of the items at their listed prices. Checked before anything is written.
 */
export function moneyProblem(
  order: { items: readonly { productId: string; quantity: number }[]; totalAmount: number; currency: string },
  prices: PriceList | undefined,
): Problem | undefined {
  const amount = amountProblem(order.totalAmount, order.currency);
  if (amount) {
    const field = amount.field === 'amount' ? '/totalAmount' : '/currency';
    return problemOf(400, `${field} ${amount.detail}`, { field });
  }
  const price = prices && priceProblem(prices, order);
  if (price) return problemOf(400, `${price.field} ${price.detail}`, { field: price.field });
  return undefined;
}

/**
 * What an Idempotency-Key is bound to: a digest of the order's canonical JSON (RFC 8785: keys sorted, numbers in
 * one form), so the same order sent with its keys in another order, or `150` as `150.0`, is the same order.
 */
export function orderDigest(order: object): string {
  return createHash('sha256')
    .update(canonicalize(order) ?? '')
    .digest('hex');
}

/**
 * The Idempotency-Key as stored: with authentication on it is scoped to the customer, so two customers choosing
 * the same key never see each other's orders; the store hashes it into its key.
 */
export function scopedIdempotencyKey(caller: Caller | undefined, key: string): string {
  return caller ? `${caller.customerId}\n${key}` : key;
}
