import type { Redis } from 'ioredis';
import type { AnyEvent } from '../../../shared/events/catalog';
import { ClaimStore } from '../../../shared/idempotency/claims';
import { claimIdOf as warrenClaimIdOf } from '../../../shared/messaging/middleware/idempotency';
import { createMetrics } from '../../../shared/observability/metrics';
import { RedisLibrary } from '../../../shared/redis/script';
import { mergeLines as warrenMergeLines } from '../../../workers/inventory/domain/stock';
import { StockStore } from '../../../workers/inventory/store/stock-store';
import { newOrder } from '../../../workers/order/domain/order-saga';
import { OrderStore } from '../../../workers/order/store/order-store';
import { chargeKey } from '../../../workers/payment/domain/payment';
import { SimulatedGateway } from '../../../workers/payment/gateway/simulated-gateway';
import { Ledger } from '../../../workers/payment/store/ledger';
import { orderPlaced } from '../lib/payload';
import { calls, claimIdOf, keys, mergeLines, SCRIPT_NAMES, type Call, type ScriptName, type ScriptSources } from './plain-calls';

/** One call a Warren store made: a script (its source, sent after a NOSCRIPT) or a plain command. */
interface Recorded {
  command: string;
  source?: string;
  keys: string[];
  args: string[];
}

type Reply = unknown | ((call: Recorded) => unknown);

/**
 * A stand-in for ioredis that records what a store sends. An FCALL is recorded with its function's body (key-type
 * prelude included, shared/redis/script.ts), which is the script the plain peers run with EVAL. Each
 * script call is answered with the next reply given, so the store's method runs to its end.
 */
function recorder(replies: Reply[]) {
  const log: Recorded[] = [];
  const reply = (call: Recorded) => {
    log.push(call);
    const next = replies.shift();
    return Promise.resolve(typeof next === 'function' ? (next as (c: Recorded) => unknown)(call) : next);
  };
  const split = (numKeys: number, rest: (string | number)[]) => ({
    keys: rest.slice(0, numKeys).map(String),
    args: rest.slice(numKeys).map(String),
  });
  const fake = {
    fcall: (name: string, numKeys: number, ...rest: (string | number)[]) =>
      reply({ command: 'eval', source: functionSource(name), ...split(numKeys, rest) }),
    hget: (key: string, field: string) => reply({ command: 'hget', keys: [key], args: [field] }),
    set: (key: string, ...args: (string | number)[]) => reply({ command: 'set', keys: [key], args: args.map(String) }),
  };
  return { redis: fake as unknown as Redis, log };
}

function functionSource(name: string): string {
  const fn = RedisLibrary.all()
    .flatMap((l) => l.functions)
    .find((f) => f.name === name);
  if (!fn) throw new Error(`warren-scripts: no function ${name}`);
  return fn.source;
}

async function capture(run: (redis: Redis) => Promise<unknown>, replies: Reply[]): Promise<Recorded[]> {
  const { redis, log } = recorder(replies);
  await run(redis);
  return log;
}

let sharedMetrics: ReturnType<typeof createMetrics> | undefined;

export interface WarrenScripts {
  sources: ScriptSources;
}

/**
 * Runs each of Warren's stores once against the recorder and keeps every script's source; then checks that the
 * plain peers' builders (plain-calls.ts) give the same KEYS and ARGV for the same call, the clock's values aside.
 * A change to a Warren script, its keys or its arguments shows here, before any number is measured.
 */
export async function warrenScripts(prefix: string, retentionMs: number, leaseMs: number): Promise<WarrenScripts> {
  // One registry for every capture of the run: each one made watches the event loop for as long as the run lasts.
  const metrics = (sharedMetrics ??= createMetrics('bench-scripts'));
  const event = orderPlaced(0);
  const { orderId, totalAmount: amount, currency } = event;
  const lines = warrenMergeLines(event.items);
  const items = JSON.stringify(lines);
  const found: Partial<Record<ScriptName, { recorded: Recorded; plain: Call; volatile?: number[] }>> = {};
  const keep = (name: ScriptName, recorded: Recorded[], plain: Call, volatile?: number[]) => {
    const script = recorded.find((r) => r.command === 'eval');
    if (!script) throw new Error(`warren-scripts: ${name} ran no script`);
    found[name] = { recorded: script, plain, ...(volatile ? { volatile } : {}) };
  };

  keep(
    'reserve',
    await capture((r) => new StockStore(r, prefix, retentionMs, metrics).reserve(orderId, lines), [['RESERVED', '', 1]]),
    calls.reserve(prefix, retentionMs, orderId, mergeLines(event.items)),
  );
  keep(
    'settle',
    await capture((r) => new StockStore(r, prefix, retentionMs, metrics).settle(orderId, 'commit'), [items, ['COMMITTED', items, 1]]),
    calls.settle(prefix, retentionMs, orderId, items, 'commit'),
  );
  const order = newOrder({
    orderId,
    customerId: event.customerId,
    items: event.items,
    totalAmount: amount,
    currency,
    createdAt: event.timestamp,
  });
  const orderJson = JSON.stringify(order);
  keep(
    'createOrder',
    await capture((r) => new OrderStore(r, prefix, retentionMs, metrics).create(order, Date.now() + 60_000), [['CREATED', '']]),
    calls.createOrder(prefix, retentionMs, orderId, orderJson, Date.now() + 60_000),
    [2, 5],
  );
  const confirmed = { eventType: 'OrderConfirmed', eventId: `OrderConfirmed:${orderId}`, orderId } as unknown as AnyEvent;
  const entryJson = JSON.stringify({ event: confirmed });
  keep(
    'updateOrder',
    await capture((r) => new OrderStore(r, prefix, retentionMs, metrics).update(order, '2', true, [{ event: confirmed }]), [1]),
    calls.updateOrder(prefix, orderId, '2', orderJson, true, [{ eventId: confirmed.eventId, entryJson }]),
    [4],
  );
  keep(
    'removeFromOutbox',
    await capture(
      async (r) => {
        const store = new OrderStore(r, prefix, retentionMs, metrics);
        store.removeFromOutbox(confirmed.eventId);
        await store.drainRemovals();
      },
      [1],
    ),
    calls.removeFromOutbox(prefix, [confirmed.eventId]),
  );
  const ledger = (r: Redis) => new Ledger(r, prefix, retentionMs, metrics);
  const entry = ['amount', String(amount), 'currency', currency];
  keep(
    'observeTerms',
    await capture((r) => ledger(r).observe(orderId, { amount, currency }), [[1, entry]]),
    calls.observeTerms(prefix, retentionMs, orderId, amount, currency),
  );
  keep(
    'charge',
    await capture(
      (r) =>
        new SimulatedGateway(r, { prefix, failureRate: 0, latencyMs: 0, retentionMs }).charge({
          idempotencyKey: chargeKey(orderId),
          orderId,
          amount,
          currency,
          token: 'tok_visa',
        }),
      [(c: Recorded) => [c.args[0], 0]],
    ),
    calls.charge(prefix, retentionMs, orderId),
  );
  const paymentId = `ch_${chargeKey(orderId)}`;
  keep(
    'recordCharge',
    await capture((r) => ledger(r).recordCharge(orderId, { status: 'CAPTURED', amount, currency, paymentId }), [[1, entry]]),
    calls.recordCharge(prefix, retentionMs, orderId, amount, currency, paymentId),
  );
  keep('markConfirmed', await capture((r) => ledger(r).markConfirmed(orderId), [1]), calls.markConfirmed(prefix, retentionMs, orderId));
  // The claim: SET NX (a plain command) on the key Warren's middleware names, then the completing script.
  const queue = 'warren.payment';
  const claimId = warrenClaimIdOf(event);
  if (claimIdOf(event) !== claimId) throw new Error('warren-scripts: the plain claim id differs from Warren’s');
  const claimCalls = await capture(
    async (r) => {
      const claims = new ClaimStore(r, prefix, leaseMs, retentionMs);
      const claim = await claims.claim(queue, claimId);
      if (claim.kind === 'claimed') await claims.complete(queue, claimId, claim.token);
    },
    ['OK', 'OK'],
  );
  const set = claimCalls.find((c) => c.command === 'set');
  if (set?.keys[0] !== keys.claim(prefix, queue, claimId) || set.args.join(' ') !== `${set.args[0]} PX ${leaseMs} NX`)
    throw new Error(`warren-scripts: the claim is not SET ${keys.claim(prefix, queue, claimId)} <token> PX ${leaseMs} NX`);
  const token = set.args[0]!;
  keep('completeClaim', claimCalls, calls.completeClaim(prefix, retentionMs, queue, claimId, token));

  for (const name of SCRIPT_NAMES) {
    const f = found[name]!;
    const mine = { keys: f.plain.keys, args: f.plain.args.map(String) };
    const theirs = f.recorded;
    const differs =
      mine.keys.join('\n') !== theirs.keys.join('\n') ||
      mine.args.length !== theirs.args.length ||
      mine.args.some((a, i) => !f.volatile?.includes(i) && a !== theirs.args[i]);
    if (differs)
      throw new Error(`warren-scripts: the plain ${name} call differs from Warren's: ${JSON.stringify({ mine, theirs }).slice(0, 2000)}`);
  }
  return { sources: Object.fromEntries(SCRIPT_NAMES.map((n) => [n, found[n]!.recorded.source!])) as ScriptSources };
}
