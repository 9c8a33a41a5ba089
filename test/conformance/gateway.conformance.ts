import assert from 'node:assert/strict';
import { TransientError } from '../../shared/errors/errors';
import { InvalidIdError } from '../../shared/redis/key-layout';
import { chargeKey, refundKey } from '../../workers/payment/domain/payment';
import { GatewayUnavailableError, type CountingGateway, type SimulationOptions } from '../../workers/payment/gateway/simulated-provider';
import { freshId } from './fresh-ids';

const CALM: SimulationOptions = { failureRate: 0, latencyMs: 0 };

/**
 * What the simulated provider does, whatever keeps its books, as the payment handlers rely on it: a charge and a
 * refund happen once per idempotency key (a replay answers the first), the test tokens decline or time out, and a
 * failed call moves no money. Run against Redis (test/integration/store-conformance.test.ts) and memory
 * (test/unit/stores/).
 */
export function gatewayConformance(makeGateway: (options: SimulationOptions) => CountingGateway | Promise<CountingGateway>): void {
  let orderId: string;
  beforeEach(() => {
    orderId = freshId('o');
  });
  const charge = (gateway: CountingGateway, token?: string) =>
    gateway.charge({ idempotencyKey: chargeKey(orderId), orderId, amount: 150, currency: 'USD', ...(token ? { token } : {}) });

  it('approves a charge once per key: a replay answers the first charge and moves no more money', async () => {
    const gateway = await makeGateway(CALM);
    const first = await charge(gateway, 'tok_visa');
    assert.deepEqual(first, { status: 'succeeded', chargeId: `ch_${chargeKey(orderId)}`, replayed: false });
    assert.deepEqual(await charge(gateway, 'tok_decline'), { ...first, replayed: true });
    assert.deepEqual(await gateway.totals(orderId), { captures: 1, refunds: 0 });
  });

  it('approves a charge with no token', async () => {
    const gateway = await makeGateway(CALM);
    assert.equal((await charge(gateway)).status, 'succeeded');
  });

  it('declines tok_decline, and captures nothing', async () => {
    const gateway = await makeGateway(CALM);
    assert.deepEqual(await charge(gateway, 'tok_decline'), { status: 'declined', chargeId: `ch_${chargeKey(orderId)}`, replayed: false });
    assert.deepEqual(await gateway.totals(orderId), { captures: 0, refunds: 0 });
  });

  it('times tok_flaky out transiently on the first two calls of an order, then charges it', async () => {
    const gateway = await makeGateway(CALM);
    for (let call = 1; call <= 2; call++) await assert.rejects(charge(gateway, 'tok_flaky'), GatewayUnavailableError, `call ${call}`);
    assert.deepEqual(await gateway.totals(orderId), { captures: 0, refunds: 0 });
    assert.equal((await charge(gateway, 'tok_flaky')).status, 'succeeded');
    assert.deepEqual(await gateway.totals(orderId), { captures: 1, refunds: 0 });
  });

  it('refunds once per key: a replay answers the first refund', async () => {
    const gateway = await makeGateway(CALM);
    const { chargeId } = await charge(gateway);
    const request = { idempotencyKey: refundKey(orderId), orderId, chargeId };
    assert.deepEqual(await gateway.refund(request), { refundId: `re_${refundKey(orderId)}`, replayed: false });
    assert.deepEqual(await gateway.refund(request), { refundId: `re_${refundKey(orderId)}`, replayed: true });
    assert.deepEqual(await gateway.totals(orderId), { captures: 1, refunds: 1 });
  });

  it('fails at its failure rate, transiently, before any money moves or any answer is kept', async () => {
    let roll = 0.25;
    const gateway = await makeGateway({ failureRate: 0.5, latencyMs: 0, random: () => roll });
    // Transient: the event is retried (shared/messaging/retry-policy.ts), never dead-lettered at once.
    await assert.rejects(charge(gateway), (error) => error instanceof GatewayUnavailableError && error instanceof TransientError);
    await assert.rejects(gateway.refund({ idempotencyKey: refundKey(orderId), orderId, chargeId: 'ch_x' }), GatewayUnavailableError);
    assert.deepEqual(await gateway.totals(orderId), { captures: 0, refunds: 0 });
    roll = 0.75;
    assert.equal((await charge(gateway)).replayed, false, 'the failed charge left no answer behind');
  });

  it('refuses an order id that breaks the id rule (InvalidIdError), charging nothing', async () => {
    const gateway = await makeGateway(CALM);
    await assert.rejects(gateway.charge({ idempotencyKey: chargeKey('x'), orderId: 'o:1', amount: 1, currency: 'USD' }), InvalidIdError);
    await assert.rejects(gateway.totals('_o'), InvalidIdError);
  });
}
