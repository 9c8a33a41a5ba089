/** What `npm run soak -- --minutes N [--rate R] [--fault-every S]` asks for. */
export interface SoakOptions {
  /** How long orders flow, in minutes (settling and the checks come after). */
  minutes: number;
  /** Orders a second; undefined: half the fleet's maximum, measured at start. */
  rate?: number;
  /** Seconds between two faults. */
  faultEveryS: number;
}

export const DEFAULT_FAULT_EVERY_S = 180;

export const USAGE = 'usage: npm run soak -- --minutes N [--rate ORDERS_PER_S] [--fault-every SECONDS]';

/** Reads `--name value` or `--name=value`; throws a one-line usage error for anything else. */
export function soakOptions(argv: readonly string[]): SoakOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--(minutes|rate|fault-every)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${match[1]} needs a value; ${USAGE}`);
    values.set(match[1]!, value);
  }
  const positive = (name: string): number | undefined => {
    const text = values.get(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}; ${USAGE}`);
    return n;
  };
  const minutes = positive('minutes');
  if (minutes === undefined) throw new Error(`--minutes is required; ${USAGE}`);
  const rate = positive('rate');
  return { minutes, faultEveryS: positive('fault-every') ?? DEFAULT_FAULT_EVERY_S, ...(rate === undefined ? {} : { rate }) };
}
