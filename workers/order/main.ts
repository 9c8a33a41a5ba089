import { createHttpServer } from '../../shared/http/server';
import { createTokenVerifier } from '../../shared/auth/token-verifier';
import type { ServiceDefinition } from '../../shared/lifecycle/service';
import { requireTokenKeys } from '../../shared/lifecycle/require-token-keys';
import { onOrderPlaced, outcomeHandlers } from './handlers/outcome-handlers';
import { orderApi } from './http/order-api';
import { createOrderMetrics } from './order-metrics';
import { DeadlineSweep } from './outbox/deadline-sweep';
import { OutboxPublisher } from './outbox/outbox-publisher';
import { OutboxRelay } from './outbox/outbox-relay';
import { Periodic } from './outbox/periodic';
import { orderRateLimitOf } from './rate-limit';
import { SagaRunner } from './saga-runner';
import { order, ORDER_QUEUE } from './service';
import { OrderStore } from './store/order-store';

/** Takes orders over HTTP and runs each order's saga from the outcome events to CONFIRMED or CANCELLED. */
export const service: ServiceDefinition<typeof order> = {
  ...order,
  async wire(runtime, settings) {
    const { config, log } = runtime;
    const tokenKeys = requireTokenKeys(config, log);
    const store = new OrderStore(runtime.redis, config.redisKeyPrefix, config.idempotencyRetentionMs, runtime.metrics);
    const metrics = createOrderMetrics(runtime.metrics.registry, {
      outboxDepth: () => store.outboxDepth(),
      openOrders: () => store.openOrders(),
    });
    const outbox = new OutboxPublisher(store, runtime.publisher, log.child({ component: 'outbox' }));
    const runner = new SagaRunner(store, outbox, metrics, log.child({ component: 'saga' }));
    runtime.consume(ORDER_QUEUE, {
      ...outcomeHandlers(runner),
      OrderPlaced: onOrderPlaced(store, runner, metrics, settings.ORDER_TIMEOUT_MS),
    });

    // Both every OUTBOX_RELAY_INTERVAL_MS, in every replica: the relay gives the fast path a publish timeout and a
    // second before it takes an entry over; the sweep times out orders past ORDER_TIMEOUT_MS.
    const relay = new OutboxRelay(store, outbox, metrics, log.child({ component: 'relay' }), {
      graceMs: config.publishTimeoutMs + 1000,
      batch: 200,
    });
    const sweep = new DeadlineSweep(store, runner, metrics, log.child({ component: 'sweep' }), { batch: 200 });
    const background = [relay, sweep].map((task) => new Periodic(settings.OUTBOX_RELAY_INTERVAL_MS, () => task.tick()));
    for (const task of background) task.start();
    runtime.onStopBackground(async () => {
      await Promise.all(background.map((task) => task.stop()));
      await store.drainRemovals();
    });

    // ORDER_RATE_LIMIT per customer and ORDER_RATE_WINDOW_MS, counted in Redis, so shared by every replica.
    const rateLimit = orderRateLimitOf(settings);
    const api = createHttpServer({ log: log.child({ component: 'api' }), requestTimeoutMs: config.httpRequestTimeoutMs });
    await orderApi(api, {
      store,
      runner,
      metrics,
      log: log.child({ component: 'api' }),
      orderTimeoutMs: settings.ORDER_TIMEOUT_MS,
      ...(rateLimit ? { rateLimit } : {}),
      brokerUp: () => runtime.brokerUp(),
      tokenKeys,
      ...(config.priceList ? { priceList: config.priceList } : {}),
      ...(config.auth.mode === 'off' ? {} : { verifier: await createTokenVerifier(config.auth) }),
    });
    if (!config.priceList) log.warn('no price list (PRICE_LIST): order totals are taken as clients send them; see docs/security.md');
    await api.listen({ port: runtime.apiPort, host: runtime.config.apiHost });
    log.info({ port: runtime.apiPort }, 'order API listening');
    runtime.onStopIntake(() => api.close());
  },
};
