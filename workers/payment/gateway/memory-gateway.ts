import { idKey } from '../../../shared/redis/key-layout';
import type { ChargeRequest, ChargeResult, RefundRequest, RefundResult } from '../domain/payment-gateway';
import {
  chargeIdOf,
  chargeStatusOf,
  failFlakyCall,
  FLAKY_TOKEN,
  refundIdOf,
  simulateNetwork,
  type CountingGateway,
  type GatewayTotals,
  type SimulationOptions,
} from './simulated-provider';

/**
 * The simulated provider with its books in memory, for unit tests of the payment handlers: the answers of
 * `SimulatedGateway`'s Redis books, step for step (simulated-gateway.ts), by the same rules
 * (simulated-provider.ts). Records never expire: the retention is days, longer than any test.
 */
export class MemoryGateway implements CountingGateway {
  /** Answers by idempotency key: a replay gets the first one. */
  private readonly charges = new Map<string, Omit<ChargeResult, 'replayed'>>();
  private readonly refunds = new Map<string, string>();
  private readonly books = new Map<string, GatewayTotals>();
  private readonly flakyCalls = new Map<string, number>();

  /** @param options The network's failure rate and latency. @defaultValue neither */
  constructor(private readonly options: SimulationOptions = { failureRate: 0, latencyMs: 0 }) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await simulateNetwork(this.options);
    const order = orderKey(request.orderId);
    if (request.token === FLAKY_TOKEN) {
      const calls = (this.flakyCalls.get(order) ?? 0) + 1;
      this.flakyCalls.set(order, calls);
      failFlakyCall(calls);
    }
    const prior = this.charges.get(request.idempotencyKey);
    if (prior) return { ...prior, replayed: true };
    const answer = { status: chargeStatusOf(request.token), chargeId: chargeIdOf(request.idempotencyKey) };
    this.charges.set(request.idempotencyKey, answer);
    if (answer.status === 'succeeded') this.count(order, 'captures');
    return { ...answer, replayed: false };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    await simulateNetwork(this.options);
    const order = orderKey(request.orderId);
    const prior = this.refunds.get(request.idempotencyKey);
    if (prior) return { refundId: prior, replayed: true };
    const refundId = refundIdOf(request.idempotencyKey);
    this.refunds.set(request.idempotencyKey, refundId);
    this.count(order, 'refunds');
    return { refundId, replayed: false };
  }

  async totals(orderId: string): Promise<GatewayTotals> {
    return { ...(this.books.get(orderKey(orderId)) ?? { captures: 0, refunds: 0 }) };
  }

  private count(order: string, what: keyof GatewayTotals): void {
    const totals = this.books.get(order) ?? { captures: 0, refunds: 0 };
    this.books.set(order, { ...totals, [what]: totals[what] + 1 });
  }
}

// The Redis books' key layout for orders, without a prefix: an order id they refuse (InvalidIdError) is refused here too.
const orderKey = (orderId: string) => idKey('', 'gateway:order', orderId);
