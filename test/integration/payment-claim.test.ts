import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { createEvent } from '../../shared/events/codec';
import { Runtime } from '../../shared/lifecycle/runtime';
import { sealToken } from '../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING } from '../../shared/security/token-keys';
import type { ChargeRequest, ChargeResult, PaymentGateway, RefundResult } from '../../workers/payment/domain/payment-gateway';
import { onOrderCancelled, onOrderPlaced } from '../../workers/payment/handlers/order-handlers';
import { payment, PAYMENT_QUEUE } from '../../workers/payment/service';
import { Ledger } from '../../workers/payment/store/ledger';
import { loadFleetConfig } from '../../workers/registry';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from '../helpers/broker';
import { deleteKeys } from '../helpers/fleet';
import { LogCapture } from '../helpers/log-capture';
import { freePort } from '../helpers/ports';
import { publishRaw, queueDepths } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';

/**
 * A provider that ignores idempotency keys (many do, or honour them only for a while): every call is a new charge.
 * Slow enough that two copies of one event are in the handler at the same time.
 */
class CountingGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await sleep(300);
    this.charges.push(request);
    return { status: 'succeeded', chargeId: `ch_${this.charges.length}`, replayed: false };
  }

  async refund(): Promise<RefundResult> {
    return { refundId: randomUUID(), replayed: false };
  }
}

/**
 * The payment service's claim lease is what stands between two concurrent copies of one OrderPlaced and a second
 * charge: the ledger is only written once the gateway answered, so both copies find it empty. Against a gateway
 * that does not dedupe by key, the claim alone must keep the charge to one.
 */
describe('payment claim lease against a non-idempotent gateway (real RabbitMQ and Redis)', function () {
  this.timeout(60_000);
  let vhost: string;
  let runtime: Runtime;
  let redis: Redis;
  let url: string;
  const gateway = new CountingGateway();
  const prefix = `${uniqueName('claim')}:`;

  before(async () => {
    ({ vhost, url } = await createVhost('warren-claim'));
    const config = loadFleetConfig({
      AMQP_URL: url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      PAYMENT_OPS_PORT: String(await freePort()),
      RETRY_DELAYS_MS: '100,200,400',
      IDEMPOTENCY_LEASE_MS: '5000',
      LOG_LEVEL: 'warn',
    });
    runtime = new Runtime(config, {
      service: 'payment',
      queues: payment.consumes,
      opsPort: config.opsPorts['payment']!,
      logDestination: new LogCapture(),
    });
    const ledger = new Ledger(runtime.redis, prefix, config.idempotencyRetentionMs, runtime.metrics);
    const deps = { gateway, ledger, tokenKeys: DEV_TOKEN_KEYRING };
    runtime.consume(PAYMENT_QUEUE, { OrderPlaced: onOrderPlaced(deps), OrderCancelled: onOrderCancelled(deps) }, { idempotency: 'claim' });
    await runtime.start();
    // The order service's queue stands in: the outcome must be routable, or its publish fails and is retried.
    const connection = await amqplib.connect(url);
    const channel = await connection.createChannel();
    await channel.assertQueue('outcomes', { durable: true });
    await channel.bindQueue('outcomes', 'warren.events', 'payment.*');
    await connection.close();
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await runtime?.stop();
    await deleteKeys(redis, prefix);
    await redis?.quit();
    await deleteVhost(vhost);
  });

  it('two copies of one OrderPlaced delivered at once charge once', async () => {
    const orderId = randomUUID();
    const event = createEvent(
      'OrderPlaced',
      {
        orderId,
        customerId: 'c-1',
        items: [{ productId: 'P1', quantity: 1 }],
        totalAmount: 42,
        currency: 'USD',
        sealedPaymentToken: sealToken(DEV_TOKEN_KEYRING, 'tok_visa', orderId),
      },
      { correlationId: orderId },
    );
    const body = JSON.stringify(event);
    const properties = { messageId: event.eventId, type: 'OrderPlaced', contentType: 'application/json' };
    await Promise.all([
      publishRaw(url, 'warren.events', 'order.placed', body, properties),
      publishRaw(url, 'warren.events', 'order.placed', body, properties),
    ]);
    // Both copies are settled: one handled, the other (held off by the claim, retried) acked as a duplicate.
    await waitFor('the second copy to be acked as a duplicate', async () => {
      const text = await runtime.metrics.registry.getSingleMetricAsString('warren_messages_consumed_total');
      return /outcome="duplicate"[^\n]*} 1/.test(text) || undefined;
    });
    await sleep(500);
    assert.equal(gateway.charges.length, 1, `the gateway charged ${gateway.charges.length} times`);
    assert.equal((await queueDepths(url, ['outcomes']))['outcomes'], 1, 'one PaymentCaptured');
    assert.equal((await redis.hget(`${prefix}payment:${orderId}`, 'status')) ?? '', 'CAPTURED');
  });
});
