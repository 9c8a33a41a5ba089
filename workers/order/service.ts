import { nonNegativeInt, positiveInt } from '../../shared/config/validators';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { ORDER_EVENTS } from './events';

export const ORDER_QUEUE = 'warren.order';

/** Takes orders over HTTP and runs each order's saga from the outcome events to CONFIRMED or CANCELLED. */
export const order = {
  name: 'order',
  summary: 'takes orders over HTTP and turns the outcome events into CONFIRMED or CANCELLED',
  consumes: [
    {
      name: ORDER_QUEUE,
      bindings: [
        'order.placed',
        'inventory.reserved',
        'inventory.rejected',
        'inventory.released',
        'payment.captured',
        'payment.declined',
        'payment.refunded',
      ],
      // Every handler's effect is one compare-and-set of the order (with its outbox) or a create-if-absent: a second
      // copy of an event changes nothing, so no claim is needed.
      idempotency: 'atomic',
    },
  ],
  events: ORDER_EVENTS,
  ops: { env: 'ORDER_OPS_PORT', default: 9101 },
  // Orders and their deadlines, the outbox, Idempotency-Keys of the API (workers/order/store/order-store.ts).
  redisKeys: ['order:*', 'outbox', 'outbox:*', 'idem:http:*'],
  // Seals the payment token of every order it publishes.
  // AUTH_JWT_SECRET: only order verifies customer tokens (AUTH_MODE=hs256); OPS_TOKEN guards every ops port.
  secrets: ['PAYMENT_TOKEN_KEYS', 'AUTH_JWT_SECRET', 'OPS_TOKEN'],
  api: { env: 'ORDER_HTTP_PORT', default: 3000, routes: ['POST /orders', 'GET /orders/:orderId'] },
  settings: {
    ORDER_TIMEOUT_MS: positiveInt({ default: 60000, desc: 'an order without both outcomes by then is cancelled and compensated' }),
    ORDER_RATE_LIMIT: nonNegativeInt({
      default: 120,
      desc: 'orders one customer may place per window through POST /orders (0: no limit); beyond it 429 with Retry-After',
    }),
    ORDER_RATE_WINDOW_MS: positiveInt({
      default: 60000,
      desc: "the window ORDER_RATE_LIMIT counts in, from the customer's first order in it",
    }),
    OUTBOX_RELAY_INTERVAL_MS: positiveInt({ default: 500, desc: 'how often the outbox relay and the order-timeout sweep run' }),
  },
} as const satisfies ServiceDeclaration;
