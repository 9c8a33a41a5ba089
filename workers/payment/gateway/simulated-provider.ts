import { TransientError } from '../../../shared/errors/errors';
import type { ChargeResult, PaymentGateway } from '../domain/payment-gateway';

// What the simulated provider does, whatever keeps its books: SimulatedGateway (Redis, so its records outlive a
// worker crash) and MemoryGateway (unit tests) share these rules, and one conformance suite
// (test/conformance/gateway.conformance.ts) holds them to the same answers.

export class GatewayUnavailableError extends TransientError {
  override readonly name = 'GatewayUnavailableError';
}

/** Money the provider actually moved for one order. */
export interface GatewayTotals {
  captures: number;
  refunds: number;
}

/** A payment gateway that also shows its books: what the payment routes report per order. */
export interface CountingGateway extends PaymentGateway {
  totals(orderId: string): Promise<GatewayTotals>;
}

export interface SimulationOptions {
  /** Share (0..1) of calls that fail transiently. */
  failureRate: number;
  latencyMs: number;
  /** Source of randomness, replaceable in tests. @defaultValue Math.random */
  random?: () => number;
}

/** A token the provider declines. */
export const DECLINE_TOKEN = 'tok_decline';
/** A token whose first {@link FLAKY_FAILURES} charges of an order time out, as a provider having a bad minute. */
export const FLAKY_TOKEN = 'tok_flaky';
export const FLAKY_FAILURES = 2;

/** Every other token (or none) is approved. */
export const chargeStatusOf = (token: string | undefined): ChargeResult['status'] => (token === DECLINE_TOKEN ? 'declined' : 'succeeded');
/** The provider's ids follow from the idempotency key: a replay answers the same ids. */
export const chargeIdOf = (idempotencyKey: string): string => `ch_${idempotencyKey}`;
export const refundIdOf = (idempotencyKey: string): string => `re_${idempotencyKey}`;

/** The flaky token's answer to the charge that is the `calls`-th of its order. */
export function failFlakyCall(calls: number): void {
  if (calls <= FLAKY_FAILURES) throw new GatewayUnavailableError(`gateway timeout (flaky token, call ${calls})`);
}

/** The network between the service and the provider: it takes `latencyMs`, and fails at `failureRate`. */
export async function simulateNetwork(options: SimulationOptions): Promise<void> {
  if (options.latencyMs > 0) await new Promise((r) => setTimeout(r, options.latencyMs));
  if (options.failureRate > 0 && (options.random ?? Math.random)() < options.failureRate)
    throw new GatewayUnavailableError('gateway unavailable (simulated)');
}
