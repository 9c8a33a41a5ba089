import { nonNegativeInt, ratio } from '../../shared/config/validators';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { PAYMENT_EVENTS } from './events';

export const PAYMENT_QUEUE = 'warren.payment';

/** Charges placed orders through the (simulated) gateway and refunds cancelled ones. */
export const payment = {
  name: 'payment',
  summary: 'charges placed orders through the (simulated) gateway and refunds cancelled ones',
  // order.confirmed only to know the order is confirmed: a cancel of it is then refused, never refunded.
  consumes: [
    {
      name: PAYMENT_QUEUE,
      bindings: ['order.placed', 'order.cancelled', 'order.confirmed'],
      // The gateway is one shared downstream: when it is away, every charge fails alike. Pausing after 5 transient
      // failures in a row (within KILL_SWITCH_WINDOW_MS) keeps charges in the queue instead of burning their retry
      // tiers into the DLQ; a probe every KILL_SWITCH_COOLDOWN_MS resumes once it answers (docs/operations.md).
      killSwitch: { threshold: 5 },
      // The gateway is outside Redis: a claim keeps two copies of one event from calling it at once.
      idempotency: 'claim',
    },
  ],
  events: PAYMENT_EVENTS,
  // The ledger and the simulated gateway's records (workers/payment/store/ledger.ts, gateway/simulated-gateway.ts).
  redisKeys: ['payment:*', 'gateway:*'],
  // Opens the payment token of every order it charges.
  secrets: ['PAYMENT_TOKEN_KEYS', 'OPS_TOKEN'],
  ops: { env: 'PAYMENT_OPS_PORT', default: 9103, routes: ['GET /payments/:orderId'] },
  settings: {
    PAYMENT_GATEWAY_FAILURE_RATE: ratio({ default: 0, desc: 'share (0..1) of simulated gateway calls that fail transiently' }),
    PAYMENT_GATEWAY_LATENCY_MS: nonNegativeInt({ default: 0, desc: 'simulated gateway latency' }),
  },
} as const satisfies ServiceDeclaration;
