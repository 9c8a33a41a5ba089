import currencyCodes from 'currency-codes';

/**
 * ISO 4217 codes that are not money a shop charges: precious metals, bond-market and IMF/ADB units of account,
 * SUCRE, the testing code and "no currency" (all `X..` codes without a country), and the fund codes (indexed
 * units, next-day dollars, WIR) that name a unit of account beside a country's currency.
 */
const NOT_CHARGEABLE = new Set([
  ...['XAG', 'XAU', 'XPD', 'XPT', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XSU', 'XTS', 'XUA', 'XXX'],
  ...['BOV', 'CHE', 'CHW', 'CLF', 'COU', 'MXV', 'USN', 'UYI', 'UYW'],
]);

/** Minor units (decimals) per chargeable ISO 4217 code, from the `currency-codes` package's copy of the list. */
const MINOR_UNITS: ReadonlyMap<string, number> = new Map(
  currencyCodes.data.filter((c) => !NOT_CHARGEABLE.has(c.code)).map((c) => [c.code, c.digits]),
);

/** Every currency an order may be placed in, sorted (the order API's schema lists them). */
export const CURRENCY_CODES: readonly string[] = [...MINOR_UNITS.keys()].sort();

/** The number of decimals of a currency's minor unit (USD 2, JPY 0, BHD 3); undefined for a code not accepted. */
export function minorUnits(currency: string): number | undefined {
  return MINOR_UNITS.get(currency);
}
