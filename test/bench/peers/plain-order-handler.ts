/**
 * The plain peer's order handler: the order record and its outbox kept by Warren's create and update scripts
 * (plain-calls.ts), with the outcomes published from memory and a relay for what a failed publish left behind.
 */
import { calls, keys, type Line } from './plain-calls';
import { outcome, type Consumer, type Incoming, type PlainContext } from './plain-consume-loop';

interface PlainOrder {
  orderId: string;
  status: 'PENDING' | 'CONFIRMED' | 'CANCELLED';
  reason?: string;
  customerId: string;
  items: Line[];
  totalAmount: number;
  currency: string;
  createdAt: string;
  updatedAt: string;
  inventory: string;
  payment: string;
  history: { eventType: string; at: string }[];
}

/** Which leg an outcome moves, from which state to which. */
const LEG: Record<string, ['inventory' | 'payment', string, string]> = {
  InventoryReserved: ['inventory', 'PENDING', 'RESERVED'],
  InventoryRejected: ['inventory', 'PENDING', 'REJECTED'],
  PaymentCaptured: ['payment', 'PENDING', 'CAPTURED'],
  PaymentDeclined: ['payment', 'PENDING', 'DECLINED'],
};

/**
 * Order: `OrderPlaced` (from the exchange) creates the order's record with its deadline (Warren's create script);
 * each outcome is a compare-and-set of the record (Warren's update script), the last one writing `OrderConfirmed`
 * (or `OrderCancelled`) into the outbox in the same script, publishing it with a confirm and removing published
 * events from the outbox in one script call per 20 ms. The last write of each open order is kept in memory, so an
 * outcome needs no read unless the compare-and-set fails. Every 500 ms the outbox is polled for entries a failed
 * publish left (and those are published); the order timeout sweep is not written, since no order of a run waits
 * anywhere near its 60 s deadline.
 */
export function orderHandler(ctx: PlainContext, options: { orderTimeoutMs: number; relayIntervalMs: number; relayGraceMs: number }) {
  const { scripts, prefix, retentionMs, redis } = ctx;
  const open = new Map<string, { order: PlainOrder; version: string }>();
  const removals: string[] = [];
  let removalTimer: NodeJS.Timeout | undefined;
  let publisher: Consumer | undefined;
  const drainRemovals = async () => {
    removalTimer = undefined;
    const ids = removals.splice(0);
    if (ids.length > 0) await scripts.run('removeFromOutbox', calls.removeFromOutbox(prefix, ids)).catch(() => undefined);
  };
  const publish = async (entries: { event: Record<string, unknown> & { eventId: string } }[]) => {
    for (const { event } of entries) {
      await publisher!.publishConfirmed(event['eventType'] === 'OrderConfirmed' ? 'order.confirmed' : 'order.cancelled', event);
      removals.push(event.eventId);
      removalTimer ??= setTimeout(() => void drainRemovals().catch(() => undefined), 20);
    }
  };
  const relay = setInterval(() => {
    (async () => {
      const ids = await redis.zrangebyscore(keys.outboxDue(prefix), '-inf', Date.now() - options.relayGraceMs, 'LIMIT', 0, 200);
      if (ids.length === 0 || !publisher) return;
      const entries = (await redis.hmget(keys.outbox(prefix), ...ids)).flatMap((json) =>
        json ? [JSON.parse(json) as { event: Record<string, unknown> & { eventId: string } }] : [],
      );
      await publish(entries);
    })().catch(() => undefined);
  }, options.relayIntervalMs);

  const handle = async (event: Incoming, c: Consumer): Promise<void> => {
    publisher ??= c;
    const { orderId } = event;
    if (event.eventType === 'OrderPlaced') {
      if (open.has(orderId)) return;
      const createdAt =
        event.timestamp && Number.isFinite(Date.parse(event.timestamp))
          ? new Date(event.timestamp).toISOString()
          : new Date().toISOString();
      const order: PlainOrder = {
        orderId,
        customerId: event.customerId!,
        items: event.items ?? [],
        totalAmount: event.totalAmount!,
        currency: event.currency!,
        createdAt,
        status: 'PENDING',
        inventory: 'PENDING',
        payment: 'PENDING',
        updatedAt: createdAt,
        history: [{ eventType: 'OrderPlaced', at: createdAt }],
      };
      const [kind] = (await scripts.run(
        'createOrder',
        calls.createOrder(prefix, retentionMs, orderId, JSON.stringify(order), Date.now() + options.orderTimeoutMs),
      )) as [string];
      if (kind === 'CREATED' && !open.has(orderId)) open.set(orderId, { order, version: '1' });
      return;
    }
    const leg = LEG[event.eventType];
    if (!leg) return;
    let current = open.get(orderId);
    let cached = current !== undefined;
    // The outcome can overtake its order's create (both handled at once): wait for the record a little.
    for (let attempt = 0; attempt < 100; attempt++) {
      if (!current) {
        const [version, data] = await redis.hmget(keys.order(prefix, orderId), 'version', 'data');
        cached = false;
        if (!version || !data) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        current = { order: JSON.parse(data) as PlainOrder, version };
      }
      const [name, from, to] = leg;
      if (current.order[name] !== from) {
        if (!cached) return;
        current = undefined;
        continue;
      }
      const at = new Date().toISOString();
      const next: PlainOrder = {
        ...current.order,
        [name]: to,
        history: [...current.order.history, { eventType: event.eventType, at }],
        updatedAt: at,
      };
      const emit: (Record<string, unknown> & { eventId: string })[] = [];
      if (next.status === 'PENDING') {
        const reason = next.inventory === 'REJECTED' ? 'OUT_OF_STOCK' : next.payment === 'DECLINED' ? 'PAYMENT_DECLINED' : undefined;
        if (reason) {
          next.status = 'CANCELLED';
          next.reason = reason;
          emit.push(outcome('OrderCancelled', { orderId, reason, items: next.items }, { ...event, correlationId: orderId }));
        } else if (next.inventory === 'RESERVED' && next.payment === 'CAPTURED') {
          next.status = 'CONFIRMED';
          emit.push(
            outcome(
              'OrderConfirmed',
              { orderId, items: next.items, totalAmount: next.totalAmount, currency: next.currency },
              { ...event, correlationId: orderId },
            ),
          );
        }
      }
      const final = next.status !== 'PENDING';
      const entries = emit.map((e) => ({ event: e }));
      const ok = await scripts.run(
        'updateOrder',
        calls.updateOrder(
          prefix,
          orderId,
          current.version,
          JSON.stringify(next),
          final,
          entries.map((e) => ({ eventId: e.event.eventId, entryJson: JSON.stringify(e) })),
        ),
      );
      if (ok === 1) {
        open.delete(orderId);
        if (!final) open.set(orderId, { order: next, version: String(Number(current.version) + 1) });
        await publish(entries);
        return;
      }
      open.delete(orderId);
      current = undefined;
    }
    throw new Error(`order ${orderId}: not found, or too much contention`);
  };
  return {
    handle,
    async stop() {
      clearInterval(relay);
      clearTimeout(removalTimer);
      await drainRemovals();
    },
  };
}
