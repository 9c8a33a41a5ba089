import { Type } from '@sinclair/typebox';
import { CancelReason } from '../events';
import { Currency, LineItems, Money, Timestamp } from '../../../shared/events/common';
import { problemResponse } from '../../../shared/http/problem-schema';

const json = <T>(schema: T) => ({ 'application/json': { schema } });

const OrderAccepted = Type.Object({ orderId: Type.String(), status: Type.Literal('PENDING') }, { title: 'OrderAccepted' });

/** `GET /orders/:orderId`: the order as clients see it (the saga's per-step states stay inside). */
const OrderView = Type.Object(
  {
    orderId: Type.String(),
    status: Type.Union([Type.Literal('PENDING'), Type.Literal('CONFIRMED'), Type.Literal('CANCELLED')]),
    reason: Type.Optional(CancelReason),
    customerId: Type.String(),
    items: LineItems,
    totalAmount: Money,
    currency: Currency,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    history: Type.Array(Type.Object({ eventType: Type.String(), at: Timestamp }), {
      description: 'the events that moved the order, oldest first',
    }),
  },
  { title: 'Order' },
);

/**
 * The order routes' responses by status. Fastify serializes with them, so the OpenAPI document shows exactly what
 * is sent; the problem+json answers every route shares (400, 413, 415, 500) are added by shared/http/openapi.ts.
 */
export const PLACE_ORDER_RESPONSES = {
  202: {
    description: 'accepted: the order and its OrderPlaced are stored, and the event is on its way',
    headers: { location: { type: 'string', description: '/orders/<orderId>' } },
    content: json(OrderAccepted),
  },
  403: problemResponse("customerId names another customer than the token's (leave it out with authentication on)"),
  409: problemResponse('this Idempotency-Key was used with a different body'),
  429: {
    ...problemResponse(
      'the customer placed ORDER_RATE_LIMIT orders in its window (ORDER_RATE_WINDOW_MS): nothing was written; the problem ' +
        'names the limit (limit, windowSeconds). A retry of an accepted order with its Idempotency-Key is not counted.',
    ),
    headers: { 'retry-after': { type: 'integer', minimum: 1, description: 'seconds until the window closes' } },
  },
  503: problemResponse('the broker or the order store is unreachable: nothing was accepted; try again'),
};

export const GET_ORDER_RESPONSES = {
  200: { description: 'the order', content: json(OrderView) },
  404: problemResponse('no such order'),
};
