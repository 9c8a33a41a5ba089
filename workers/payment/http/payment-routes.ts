import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OrderId } from '../../../shared/events/common';
import { OPS_SECURITY } from '../../../shared/http/ops-auth';
import { sendProblem } from '../../../shared/http/problem';
import type { CountingGateway } from '../gateway/simulated-provider';
import type { PaymentLedger } from '../store/payment-ledger';

const Params = Type.Object({ orderId: OrderId });

/**
 * The payment ledger on the ops port: what was charged and refunded for an order, as the gateway counted it. Amounts
 * and currencies are nobody's business but the operator's: the ops token guards the read (shared/http/ops-auth.ts).
 */
export function paymentRoutes(app: FastifyInstance, ledger: PaymentLedger, gateway: CountingGateway): void {
  const schema = { params: Params, security: OPS_SECURITY };
  app.get<{ Params: Static<typeof Params> }>('/payments/:orderId', { schema }, async (req, reply) => {
    const { orderId } = req.params;
    const [entry, totals] = await Promise.all([ledger.get(orderId), gateway.totals(orderId)]);
    if (!entry.status) {
      return sendProblem(reply, {
        type: 'https://warren.dev/problems/not-found',
        title: 'Not Found',
        status: 404,
        detail: `no payment for order ${orderId}`,
      });
    }
    return {
      orderId,
      status: entry.status,
      amount: entry.amount,
      currency: entry.currency,
      captures: totals.captures,
      refunds: totals.refunds,
    };
  });
}
