export interface ChargeRequest {
  /** Honoured as real providers do: the same key returns the first result and never charges again. */
  idempotencyKey: string;
  orderId: string;
  amount: number;
  currency: string;
  token?: string;
}

export interface ChargeResult {
  status: 'succeeded' | 'declined';
  chargeId: string;
  /** True when this answer replays an earlier request with the same key. */
  replayed: boolean;
}

export interface RefundRequest {
  /** As for a charge: the same key returns the first refund and never refunds twice. */
  idempotencyKey: string;
  orderId: string;
  chargeId: string;
}

export interface RefundResult {
  refundId: string;
  /** True when this answer replays an earlier request with the same key. */
  replayed: boolean;
}

/**
 * A payment provider, as the payment service needs it. Both calls are idempotent by key. A failure that may pass
 * (a timeout, the provider's 5xx) is thrown as a `TransientError`, so the event is retried; a declined card is
 * an answer, not a failure.
 */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
}
