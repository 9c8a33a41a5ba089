import { createDecipheriv, randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Redis } from 'ioredis';
import { calls, claimIdOf, keys, mergeLines, type Line, type PlainScripts } from './plain-calls';

/**
 * The plain peer's consumers: amqplib and ioredis, written as a user who knows both would write them. Each
 * delivery is `JSON.parse`d and trusted (no schema validation, no upcasting: the checks Warren makes are the
 * user's to skip), its effect is the same Lua script Warren runs with the same KEYS and ARGV (plain-calls.ts),
 * an outcome is published on a confirm channel and the delivery acked once the broker confirmed it. One ack per
 * delivery, no metrics, no logging, no tracing, no handler timeout, no retry tiers; ioredis with its defaults.
 * Nothing here imports Warren: the plain fleet's processes load this file.
 */

export interface PlainContext {
  connection: ChannelModel;
  scripts: PlainScripts;
  redis: Redis;
  exchange: string;
  prefix: string;
  retentionMs: number;
  leaseMs: number;
  prefetch: number;
}

interface Incoming {
  eventType: string;
  eventId: string;
  orderId: string;
  correlationId: string;
  customerId?: string;
  items?: Line[];
  totalAmount?: number;
  currency?: string;
  sealedPaymentToken?: string;
  timestamp?: string;
}

/** An outcome event as Warren's catalog shapes it: type, version, its derived id, payload, correlation and causation, time. */
export function outcome(
  eventType: string,
  payload: Record<string, unknown>,
  cause: Incoming,
): Record<string, unknown> & { eventId: string } {
  return {
    eventType,
    version: 1,
    eventId: `${eventType}:${cause.orderId}`,
    ...payload,
    correlationId: cause.correlationId,
    causationId: cause.eventId,
    timestamp: new Date().toISOString(),
  };
}

/** The AMQP properties Warren's publisher sets (persistent, mandatory, JSON, id, type, correlation, time). */
export function properties(event: Record<string, unknown> & { eventId: string }): Options.Publish {
  return {
    persistent: true,
    mandatory: true,
    contentType: 'application/json',
    messageId: event.eventId,
    type: String(event['eventType']),
    correlationId: String(event['correlationId']),
    timestamp: Math.floor(Date.now() / 1000),
  };
}

export interface Consumer {
  consume: Channel;
  publish: ConfirmChannel;
  /** Publishes an event and resolves once the broker confirmed it. */
  publishConfirmed(routingKey: string, event: Record<string, unknown> & { eventId: string }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Consumes `queue` with `handle`: the delivery is acked when `handle` resolves, nacked (requeued once, then
 * dropped) when it rejects.
 */
export async function consume(
  ctx: PlainContext,
  queue: string,
  handle: (event: Incoming, c: Consumer) => Promise<void>,
): Promise<Consumer> {
  const consumeChannel = await ctx.connection.createChannel();
  const publishChannel = await ctx.connection.createConfirmChannel();
  await consumeChannel.prefetch(ctx.prefetch);
  const c: Consumer = {
    consume: consumeChannel,
    publish: publishChannel,
    publishConfirmed: (routingKey, event) =>
      new Promise<void>((resolve, reject) =>
        publishChannel.publish(ctx.exchange, routingKey, Buffer.from(JSON.stringify(event)), properties(event), (err) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        ),
      ),
    async stop() {
      await consumeChannel.cancel(tag).catch(() => undefined);
      await consumeChannel.close().catch(() => undefined);
      await publishChannel.close().catch(() => undefined);
    },
  };
  const onMessage = (m: ConsumeMessage | null) => {
    if (!m) return;
    const event = JSON.parse(m.content.toString('utf8')) as Incoming;
    handle(event, c).then(
      () => consumeChannel.ack(m),
      () => consumeChannel.nack(m, false, !m.fields.redelivered),
    );
  };
  const { consumerTag: tag } = await consumeChannel.consume(queue, onMessage);
  return c;
}

/**
 * Inventory: `OrderPlaced` runs the reservation script and publishes `InventoryReserved` (or `InventoryRejected`)
 * with a confirm; `OrderConfirmed` reads the reservation's lines and runs the settle script (`commit`), as Warren's
 * StockStore does; anything else is acked.
 */
export function inventoryHandler(ctx: PlainContext) {
  const { scripts, prefix, retentionMs } = ctx;
  return async (event: Incoming, c: Consumer): Promise<void> => {
    if (event.eventType === 'OrderPlaced') {
      const items = event.items ?? [];
      const [status, productId] = (await scripts.run('reserve', calls.reserve(prefix, retentionMs, event.orderId, mergeLines(items)))) as [
        string,
        string,
        number,
      ];
      if (status === 'CONFLICT') throw new Error(`OrderPlaced for ${event.orderId} has other lines than the first one seen`);
      if (status === 'RESERVED')
        await c.publishConfirmed('inventory.reserved', outcome('InventoryReserved', { orderId: event.orderId, items }, event));
      else if (status === 'REJECTED')
        await c.publishConfirmed(
          'inventory.rejected',
          outcome(
            'InventoryRejected',
            { orderId: event.orderId, reason: 'OUT_OF_STOCK', productId: productId || items[0]?.productId },
            event,
          ),
        );
    } else if (event.eventType === 'OrderConfirmed') {
      let items = (await ctx.redis.hget(keys.reservation(prefix, event.orderId), 'items')) ?? '';
      for (let attempt = 0; attempt < 2; attempt++) {
        const [status, stored] = (await scripts.run('settle', calls.settle(prefix, retentionMs, event.orderId, items, 'commit'))) as [
          string,
          string,
        ];
        if (status !== 'STALE') return;
        items = stored;
      }
      throw new Error(`reservation of ${event.orderId} changed under settle twice`);
    }
  };
}

/**
 * Payment: every delivery under a claim (SET NX with a lease, then the completing script), as Warren's payment
 * queue has it, because the gateway is outside Redis. `OrderPlaced`: the terms script, the simulated gateway's
 * charge script, the ledger's record script, then `PaymentCaptured` with a confirm. `OrderConfirmed`: the ledger's
 * confirm script. The sealed payment token is not opened and the amount not checked (Warren's checks, no Redis
 * work); a claim found taken acks the copy, the first copy finishing the work.
 */
/** `tokenKeys`: the keys that open an OrderPlaced's sealed payment token, by key id. */
export function paymentHandler(ctx: PlainContext, queue: string, tokenKeys: ReadonlyMap<string, Buffer>) {
  const { scripts, prefix, retentionMs } = ctx;
  return async (event: Incoming, c: Consumer): Promise<void> => {
    if (event.eventType !== 'OrderPlaced' && event.eventType !== 'OrderConfirmed') return;
    const claimId = claimIdOf(event);
    const token = randomUUID();
    if ((await ctx.redis.set(keys.claim(prefix, queue, claimId), token, 'PX', ctx.leaseMs, 'NX')) !== 'OK') return;
    const { orderId } = event;
    if (event.eventType === 'OrderPlaced') {
      // The card token is needed to charge: opened as Warren's payment service opens it (AES-256-GCM, the order
      // id as associated data), so that the same work includes the same decryption.
      openSealed(tokenKeys, event.sealedPaymentToken!, orderId);
      const amount = event.totalAmount!;
      const currency = event.currency!;
      const [seen, entry] = (await scripts.run('observeTerms', calls.observeTerms(prefix, retentionMs, orderId, amount, currency))) as [
        number,
        string[],
      ];
      if (seen === -1) throw new Error(`OrderPlaced for ${orderId} has another amount or currency than the first one seen`);
      let paymentId = fieldOf(entry, 'paymentId');
      if (!fieldOf(entry, 'status')) {
        const [stored] = (await scripts.run('charge', calls.charge(prefix, retentionMs, orderId))) as [string, number];
        const charge = JSON.parse(stored) as { status: string; chargeId: string };
        const [, recorded] = (await scripts.run(
          'recordCharge',
          calls.recordCharge(prefix, retentionMs, orderId, amount, currency, charge.chargeId),
        )) as [number, string[]];
        paymentId = fieldOf(recorded, 'paymentId');
      }
      await c.publishConfirmed('payment.captured', outcome('PaymentCaptured', { orderId, amount, currency, paymentId }, event));
    } else {
      await scripts.run('markConfirmed', calls.markConfirmed(prefix, retentionMs, orderId));
    }
    await scripts.run('completeClaim', calls.completeClaim(prefix, retentionMs, queue, claimId, token));
  };
}

/** `v1.<kid>.<iv>.<ciphertext>.<tag>`, base64url parts; throws when the token is not authentic. */
function openSealed(keys: ReadonlyMap<string, Buffer>, sealed: string, orderId: string): string {
  const [, kid = '', iv = '', ciphertext = '', tag = ''] = sealed.split('.');
  const key = keys.get(kid);
  if (!key) throw new Error(`unknown token key ${kid}`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(orderId, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

function fieldOf(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

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
