import type { CancelReason } from '../events';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export interface Line {
  productId: string;
  quantity: number;
}

/** An order and where its saga stands. Pure data: stored as JSON, changed only by {@link applyToOrder}. */
export interface Order {
  orderId: string;
  status: OrderStatus;
  reason?: CancelReason;
  customerId: string;
  items: Line[];
  totalAmount: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
  inventory: 'PENDING' | 'RESERVED' | 'REJECTED' | 'RELEASED';
  payment: 'PENDING' | 'CAPTURED' | 'DECLINED' | 'REFUNDED';
  history: { eventType: string; at: string }[];
}

/** What moves a saga: the outcome events of inventory and payment, and the order's own deadline. */
export type SagaInput =
  | { eventType: 'InventoryReserved' | 'InventoryRejected' | 'InventoryReleased' }
  | { eventType: 'PaymentCaptured' | 'PaymentDeclined' | 'PaymentRefunded' }
  | { eventType: 'TimedOut' };

export type SagaCommand = { eventType: 'OrderConfirmed' } | { eventType: 'OrderCancelled'; reason: CancelReason };

export interface SagaStep {
  order: Order;
  /** Events the order service must publish because of this step. */
  emit: SagaCommand[];
  /** False when the input changed nothing (a duplicate, or a late event after the end): nothing to store. */
  changed: boolean;
}

export function newOrder(fields: Omit<Order, 'status' | 'inventory' | 'payment' | 'history' | 'updatedAt'>): Order {
  return {
    ...fields,
    status: 'PENDING',
    inventory: 'PENDING',
    payment: 'PENDING',
    updatedAt: fields.createdAt,
    history: [{ eventType: 'OrderPlaced', at: fields.createdAt }],
  };
}

/**
 * The order saga as a pure function. Outcomes may arrive in any order and more than once: an order is confirmed
 * when both a reservation and a capture are in, and cancelled on the first refusal or at its deadline. Once an
 * order has ended, a late outcome is recorded but emits nothing: inventory and payment compensate on their own
 * when they see `order.cancelled`.
 */
export function applyToOrder(order: Order, input: SagaInput, at: string): SagaStep {
  const next = patch(order, input);
  if (!next) return { order, emit: [], changed: false };
  next.history = [...order.history, { eventType: input.eventType, at }];
  next.updatedAt = at;
  const emit: SagaCommand[] = [];
  if (next.status === 'PENDING') {
    const reason = cancelReason(next, input);
    if (reason) {
      next.status = 'CANCELLED';
      next.reason = reason;
      emit.push({ eventType: 'OrderCancelled', reason });
    } else if (next.inventory === 'RESERVED' && next.payment === 'CAPTURED') {
      next.status = 'CONFIRMED';
      emit.push({ eventType: 'OrderConfirmed' });
    }
  }
  return { order: next, emit, changed: true };
}

type Leg = 'inventory' | 'payment';

/** Each outcome moves one leg of the saga from one state to the next; from any other state it changes nothing. */
const LEG_STEPS: Record<Exclude<SagaInput['eventType'], 'TimedOut'>, [Leg, string, string]> = {
  InventoryReserved: ['inventory', 'PENDING', 'RESERVED'],
  InventoryRejected: ['inventory', 'PENDING', 'REJECTED'],
  InventoryReleased: ['inventory', 'RESERVED', 'RELEASED'],
  PaymentCaptured: ['payment', 'PENDING', 'CAPTURED'],
  PaymentDeclined: ['payment', 'PENDING', 'DECLINED'],
  PaymentRefunded: ['payment', 'CAPTURED', 'REFUNDED'],
};

/** The order with the input's effect on the inventory or payment leg, or undefined if it has none. */
function patch(order: Order, input: SagaInput): Order | undefined {
  if (input.eventType === 'TimedOut') return order.status === 'PENDING' ? { ...order } : undefined;
  const [leg, from, to] = LEG_STEPS[input.eventType];
  return order[leg] === from ? ({ ...order, [leg]: to } as Order) : undefined;
}

function cancelReason(order: Order, input: SagaInput): CancelReason | undefined {
  if (order.inventory === 'REJECTED') return 'OUT_OF_STOCK';
  if (order.payment === 'DECLINED') return 'PAYMENT_DECLINED';
  if (input.eventType === 'TimedOut') return 'TIMEOUT';
  return undefined;
}

export const isFinal = (order: Order): boolean => order.status !== 'PENDING';

/** What `GET /orders/:id` shows: the order without the saga's internal legs. */
export function orderView(order: Order) {
  const { inventory: _i, payment: _p, ...view } = order;
  return view;
}
