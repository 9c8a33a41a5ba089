import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Redis side of the plain peers, written the way a user of amqplib + ioredis would: the key names and the
 * KEYS/ARGV of each call spelled out by hand, and the Lua run through ioredis' `defineCommand` (EVALSHA, the source
 * again on NOSCRIPT). No Warren import here: the plain fleet's processes load this file and amqplib/ioredis only.
 *
 * The Lua itself is Warren's, character for character: Warren does not export its scripts, so the harness takes
 * each one from the store that runs it (peers/warren-scripts.ts) and hands the sources over; the same file checks,
 * before a run, that every builder below gives the KEYS, and the number of ARGV, that Warren's stores give.
 */

/** Every script the plain peers run, by the name this file calls it. */
export const SCRIPT_NAMES = [
  'reserve',
  'settle',
  'createOrder',
  'updateOrder',
  'removeFromOutbox',
  'observeTerms',
  'charge',
  'recordCharge',
  'markConfirmed',
  'completeClaim',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];
export type ScriptSources = Record<ScriptName, string>;

export interface Call {
  keys: string[];
  args: (string | number)[];
}

export interface Line {
  productId: string;
  quantity: number;
}

/** Warren's key layout (`<prefix><kind>:<id>`), written out: the plain peers make their keys the same way. */
export const keys = {
  stock: (prefix: string, productId: string) => `${prefix}stock:${productId}`,
  reservation: (prefix: string, orderId: string) => `${prefix}inventory:order:${orderId}`,
  order: (prefix: string, orderId: string) => `${prefix}order:${orderId}`,
  outbox: (prefix: string) => `${prefix}outbox`,
  outboxDue: (prefix: string) => `${prefix}outbox:due`,
  deadlines: (prefix: string) => `${prefix}order:_deadlines`,
  // The create script takes an Idempotency-Key slot even for an order with none: '-' hashed, as Warren passes it.
  httpIdempotency: (prefix: string, key: string) => `${prefix}idem:http:${sha256hex(key)}`,
  ledger: (prefix: string, orderId: string) => `${prefix}payment:${orderId}`,
  gatewayCharge: (prefix: string, idempotencyKey: string) => `${prefix}gateway:charge:${sha256hex(idempotencyKey)}`,
  gatewayOrder: (prefix: string, orderId: string) => `${prefix}gateway:order:${orderId}`,
  claim: (prefix: string, queue: string, id: string) => `${prefix}idem:${queue}:${id}`,
};

const sha256hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Lines of one product merged, first appearance kept (what the reservation's record is made of). */
export function mergeLines(items: readonly Line[]): Line[] {
  const totals = new Map<string, number>();
  for (const { productId, quantity } of items) totals.set(productId, (totals.get(productId) ?? 0) + quantity);
  return [...totals].map(([productId, quantity]) => ({ productId, quantity }));
}

/** The KEYS/ARGV of each script call, as the plain peers make them. */
export const calls = {
  reserve: (prefix: string, retentionMs: number, orderId: string, lines: readonly Line[]): Call => ({
    keys: [keys.reservation(prefix, orderId), ...lines.map((l) => keys.stock(prefix, l.productId))],
    args: [JSON.stringify(lines), retentionMs, ...lines.map((l) => l.quantity), ...lines.map((l) => l.productId)],
  }),
  settle: (prefix: string, retentionMs: number, orderId: string, items: string, how: 'commit' | 'release'): Call => ({
    keys: [keys.reservation(prefix, orderId), ...(items ? (JSON.parse(items) as Line[]).map((l) => keys.stock(prefix, l.productId)) : [])],
    args: [retentionMs, how, items],
  }),
  createOrder: (prefix: string, retentionMs: number, orderId: string, orderJson: string, deadlineMs: number): Call => ({
    keys: [
      keys.order(prefix, orderId),
      keys.outbox(prefix),
      keys.outboxDue(prefix),
      keys.deadlines(prefix),
      keys.httpIdempotency(prefix, '-'),
    ],
    // No outbox entry and no Idempotency-Key: the order came from the exchange, its OrderPlaced is already out.
    args: [orderJson, orderId, deadlineMs, '', '', Date.now(), '', 0, retentionMs, ''],
  }),
  updateOrder: (
    prefix: string,
    orderId: string,
    expectedVersion: string,
    orderJson: string,
    final: boolean,
    outbox: { eventId: string; entryJson: string }[],
  ): Call => ({
    keys: [keys.order(prefix, orderId), keys.outbox(prefix), keys.outboxDue(prefix), keys.deadlines(prefix)],
    args: [expectedVersion, orderJson, orderId, final ? '1' : '0', Date.now(), ...outbox.flatMap((e) => [e.eventId, e.entryJson])],
  }),
  removeFromOutbox: (prefix: string, eventIds: readonly string[]): Call => ({
    keys: [keys.outbox(prefix), keys.outboxDue(prefix)],
    args: [...eventIds],
  }),
  observeTerms: (prefix: string, retentionMs: number, orderId: string, amount: number, currency: string): Call => ({
    keys: [keys.ledger(prefix, orderId)],
    args: [amount, currency, retentionMs],
  }),
  charge: (prefix: string, retentionMs: number, orderId: string): Call => {
    const idempotencyKey = `charge:${orderId}`;
    return {
      keys: [keys.gatewayCharge(prefix, idempotencyKey), keys.gatewayOrder(prefix, orderId)],
      args: [JSON.stringify({ status: 'succeeded', chargeId: `ch_${idempotencyKey}` }), 'succeeded', retentionMs],
    };
  },
  recordCharge: (prefix: string, retentionMs: number, orderId: string, amount: number, currency: string, paymentId: string): Call => ({
    keys: [keys.ledger(prefix, orderId)],
    args: ['CAPTURED', amount, currency, paymentId, '', retentionMs],
  }),
  markConfirmed: (prefix: string, retentionMs: number, orderId: string): Call => ({
    keys: [keys.ledger(prefix, orderId)],
    args: [retentionMs],
  }),
  completeClaim: (prefix: string, retentionMs: number, queue: string, id: string, token: string): Call => ({
    keys: [keys.claim(prefix, queue, id)],
    args: [token, retentionMs],
  }),
};

/** What a claim is on: the event's type, order, id and a digest of its content (as Warren's claim middleware keys it). */
export function claimIdOf(event: { eventType: string; orderId: string; eventId: string }): string {
  const digest = createHash('sha256').update(JSON.stringify(event)).digest('base64url').slice(0, 22);
  return `${event.eventType}:${event.orderId}:${event.eventId}:${digest}`;
}

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** Scripts defined on an ioredis client with `defineCommand`; `run(name, call)` is one EVALSHA. */
export class PlainScripts {
  private readonly commands: Record<ScriptName, ScriptCommand>;

  constructor(redis: Redis, sources: ScriptSources) {
    for (const name of SCRIPT_NAMES) redis.defineCommand(`bench_${name}`, { lua: sources[name] });
    // defineCommand adds methods at run time; ioredis' types cannot know their names.
    const methods = redis as unknown as Record<string, ScriptCommand>;
    this.commands = Object.fromEntries(SCRIPT_NAMES.map((n) => [n, methods[`bench_${n}`]!.bind(redis)])) as Record<
      ScriptName,
      ScriptCommand
    >;
  }

  run(name: ScriptName, call: Call): Promise<unknown> {
    return this.commands[name](call.keys.length, ...call.keys, ...call.args);
  }
}
