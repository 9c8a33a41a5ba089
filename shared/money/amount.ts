import { minorUnits } from './currency';

/** Why an amount is not a price in its currency, or undefined when it is one. */
export type AmountProblem = { field: 'currency'; detail: string } | { field: 'amount'; detail: string };

/**
 * Checks that `amount` is a whole number of the currency's minor unit (at most 2 decimals for USD, none for JPY)
 * and at least one of them: 5e-324 or 0.001 USD is refused rather than rounded, since rounding would charge
 * something other than what the client sent.
 */
export function amountProblem(amount: number, currency: string): AmountProblem | undefined {
  const digits = minorUnits(currency);
  if (digits === undefined) return { field: 'currency', detail: `"${currency}" is not an ISO 4217 currency accepted here` };
  const minor = toMinorUnits(amount, digits);
  if (minor === undefined) return { field: 'amount', detail: `${currency} amounts take at most ${digits} decimals` };
  if (minor < 1) return { field: 'amount', detail: `must be at least ${formatMinor(1, digits)} ${currency}` };
  return undefined;
}

/**
 * The amount in minor units (150.25 USD → 15025), or undefined when it has more decimals than the currency. The
 * JSON number is compared through its shortest decimal form, so 0.1 + 0.2-style binary noise never arises: a
 * client's `19.99` is the decimal 19.99.
 */
export function toMinorUnits(amount: number, digits: number): number | undefined {
  if (!Number.isFinite(amount)) return undefined;
  const scaled = Math.round(amount * 10 ** digits);
  if (!Number.isSafeInteger(scaled)) return undefined;
  return formatMinor(scaled, digits) === normalise(amount, digits) ? scaled : undefined;
}

/** Minor units back to a decimal string with the currency's digits (15025, 2 → "150.25"). */
export function formatMinor(minor: number, digits: number): string {
  return (minor / 10 ** digits).toFixed(digits);
}

/** The amount with exactly `digits` decimals if its shortest form has no more; else its shortest form. */
function normalise(amount: number, digits: number): string {
  const text = String(amount);
  if (/e/i.test(text)) return text;
  const [whole, fraction = ''] = text.split('.');
  return fraction.length > digits ? text : `${whole}${digits > 0 ? `.${fraction.padEnd(digits, '0')}` : ''}`;
}
