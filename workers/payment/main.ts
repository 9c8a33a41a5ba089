import { describedOnly } from '../../shared/documents/described-only';
import type { ServiceDefinition } from '../../shared/lifecycle/service';
import { requireTokenKeys } from '../../shared/lifecycle/require-token-keys';
import { SimulatedGateway } from './gateway/simulated-gateway';
import { onOrderCancelled, onOrderConfirmed, onOrderPlaced } from './handlers/order-handlers';
import { paymentRoutes } from './http/payment-routes';
import { payment, PAYMENT_QUEUE } from './service';
import { Ledger } from './store/ledger';

/** Charges placed orders through the (simulated) gateway and refunds cancelled ones. */
export const service: ServiceDefinition<typeof payment> = {
  ...payment,
  wire(runtime, settings) {
    const { config } = runtime;
    const gateway = new SimulatedGateway(runtime.redis, {
      prefix: config.redisKeyPrefix,
      failureRate: settings.PAYMENT_GATEWAY_FAILURE_RATE,
      latencyMs: settings.PAYMENT_GATEWAY_LATENCY_MS,
      retentionMs: config.idempotencyRetentionMs,
    });
    const ledger = new Ledger(runtime.redis, config.redisKeyPrefix, config.idempotencyRetentionMs, runtime.metrics);
    paymentRoutes(runtime.ops, ledger, gateway);
    const deps = { gateway, ledger, tokenKeys: requireTokenKeys(config, runtime.log) };
    runtime.consume(PAYMENT_QUEUE, {
      OrderPlaced: onOrderPlaced(deps),
      OrderCancelled: onOrderCancelled(deps),
      OrderConfirmed: onOrderConfirmed(deps),
    });
  },
  describeOps: (app) => paymentRoutes(app, describedOnly('ledger'), describedOnly('gateway')),
};
