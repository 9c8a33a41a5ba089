import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createEvent } from '../../../shared/events/codec';
import { UNKNOWN_CUSTOMER } from '../events';
import type { TokenVerifier } from '../../../shared/auth/token-verifier';
import { BEARER_SECURITY, requireCaller } from '../../../shared/http/customer-auth';
import { sendProblem } from '../../../shared/http/problem';
import type { PriceList } from '../../../shared/money/price-list';
import type { Logger } from '../../../shared/observability/logger';
import { sealToken } from '../../../shared/security/sealed-token';
import type { TokenKeyring } from '../../../shared/security/token-keys';
import { formatTraceparent } from '../../../shared/observability/trace';
import { requestSpan } from '../../../shared/observability/tracing-http';
import { orderView } from '../domain/order-saga';
import { placeOrder, type PlaceOrderDeps } from '../place-order';
import { rateLimitedProblem, retryAfterSeconds } from '../rate-limit';
import { GET_ORDER_RESPONSES, PLACE_ORDER_RESPONSES } from './order-responses';
import { customerOf, moneyProblem, orderDigest, scopedIdempotencyKey } from './order-checks';
import { IdempotencyHeaders, OrderParams, PlaceOrderBody } from './order-schema';

export interface OrderRoutesDeps extends PlaceOrderDeps {
  log: Logger;
  /** False while the broker is unreachable: new orders are refused with 503. */
  brokerUp: () => boolean;
  /** The price authority totals are checked against (`PRICE_LIST`); none: totals as the client sends them. */
  priceList?: PriceList;
  /** Verifies each request's bearer token (AUTH_MODE jwt or hs256); none: the API is open (AUTH_MODE=off). */
  verifier?: TokenVerifier;
  /** Seals each order's payment token for the bus (PAYMENT_TOKEN_KEYS). */
  tokenKeys: TokenKeyring;
}

const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

const unavailable = (reply: FastifyReply, detail: string) =>
  sendProblem(reply, { type: 'https://warren.dev/problems/unavailable', title: 'Service Unavailable', status: 503, detail });

/**
 * The order API. An order is stored with its `OrderPlaced` in the Redis outbox in one atomic step, so a 202 is
 * only answered for an order whose event is durably on its way; the event is then published at once.
 */
export function orderRoutes(app: FastifyInstance, deps: OrderRoutesDeps): void {
  const { store, metrics, log } = deps;
  if (deps.verifier) requireCaller(app, deps.verifier, log);

  app.addHook('onResponse', async (req, reply) => {
    metrics.httpSeconds.labels(req.method, req.routeOptions.url ?? 'unmatched', String(reply.statusCode)).observe(reply.elapsedTime / 1000);
  });

  app.post<{ Body: PlaceOrderBody; Headers: { 'idempotency-key'?: string; traceparent?: string } }>(
    '/orders',
    { schema: { body: PlaceOrderBody, headers: IdempotencyHeaders, response: PLACE_ORDER_RESPONSES, security: BEARER_SECURITY } },
    async (req, reply) => {
      // Every refusal comes before anything is written or published.
      const customer = customerOf(req.caller, req.body.customerId);
      if ('status' in customer) return sendProblem(reply, customer);
      const body = { ...req.body, customerId: customer.customerId };
      const money = moneyProblem(body, deps.priceList);
      if (money) return sendProblem(reply, money);
      if (!deps.brokerUp()) return unavailable(reply, 'the message broker is unreachable; try again');
      const idempotencyKey = req.headers['idempotency-key'];
      const bodyHash = orderDigest(body);
      const orderId = randomUUID();
      // The request's span (with tracing on, its exported SERVER span): the OrderPlaced publish is its child.
      const span = requestSpan(req);
      const traceparent = formatTraceparent(span);
      const createdAt = new Date().toISOString();
      // The token leaves this process sealed (outbox, bus, dead letters): only payment can open it.
      const { paymentToken, ...order } = body;
      const sealedPaymentToken = sealToken(deps.tokenKeys, paymentToken, orderId);
      const event = createEvent('OrderPlaced', { orderId, ...order, sealedPaymentToken }, { correlationId: orderId, timestamp: createdAt });
      const idempotency = idempotencyKey
        ? { key: scopedIdempotencyKey(req.caller, idempotencyKey), value: `${bodyHash}:${orderId}`, ttlMs: IDEMPOTENCY_TTL_MS }
        : undefined;
      let result;
      try {
        result = await placeOrder(deps, { source: 'api', event, traceparent, idempotency });
      } catch (error) {
        log.warn({ err: (error as Error).message }, 'order store unavailable');
        return unavailable(reply, 'the order store is unreachable; try again');
      }
      if (result.kind === 'limited') {
        const retryAfter = retryAfterSeconds(result.retryAfterMs);
        log.info({ customerId: customer.customerId, retryAfter }, 'order refused: the customer is at its rate limit');
        return sendProblem(reply.header('retry-after', String(retryAfter)), rateLimitedProblem(result.rate, retryAfter));
      }
      if (result.kind === 'idempotent') {
        const [storedHash, storedOrderId] = result.stored.split(':');
        if (storedHash !== bodyHash) {
          return sendProblem(reply, {
            type: 'https://warren.dev/problems/idempotency-conflict',
            title: 'Conflict',
            status: 409,
            detail: 'this Idempotency-Key was used with a different body',
            field: '/headers/idempotency-key',
          });
        }
        return reply.code(202).header('location', `/orders/${storedOrderId}`).send({ orderId: storedOrderId, status: 'PENDING' });
      }
      log.info({ orderId, correlationId: orderId, traceId: span.traceId, items: body.items.length }, 'order accepted');
      return reply.code(202).header('location', `/orders/${orderId}`).send({ orderId, status: 'PENDING' });
    },
  );

  app.get<{ Params: OrderParams }>(
    '/orders/:orderId',
    { schema: { params: OrderParams, response: GET_ORDER_RESPONSES, security: BEARER_SECURITY } },
    async (req, reply) => {
      const found = await store.get(req.params.orderId);
      // Another customer's order is as unknown as a missing one: its existence is not theirs to learn. An order
      // adopted from the bus (UNKNOWN_CUSTOMER) is nobody's, whatever a token's subject says.
      const owner = found?.order.customerId;
      if (!found || (req.caller && (owner !== req.caller.customerId || owner === UNKNOWN_CUSTOMER)))
        return sendProblem(reply, {
          type: 'https://warren.dev/problems/not-found',
          title: 'Not Found',
          status: 404,
          detail: `no order ${req.params.orderId}`,
        });
      return orderView(found.order);
    },
  );
}
