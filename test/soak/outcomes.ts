import { deadLetterQueueName } from '../../shared/messaging/topology';
import { fleetQueues } from '../../workers/registry';
import { http } from '../helpers/api';
import { countEffects, type EffectCounts } from '../helpers/effects';
import { collectFinal, compareOutcomes, type OrderOutcome, type OutcomeTally } from '../helpers/invariants';
import { queueDepths } from '../helpers/raw-amqp';
import type { Traffic } from '../helpers/traffic';
import { sleep } from '../helpers/wait';
import type { SoakEnvironment } from './environment';

/**
 * How long every order has to end once the last was accepted: an order with no answer from both workers is
 * cancelled at ORDER_TIMEOUT_MS (60 s), and the longest retry tier is 30 s, so anything still PENDING after this
 * is stuck, not slow.
 */
export const SETTLE_MS = 180_000;
/** Then how long compensation (releases, refunds) has to finish before the stock and ledgers are counted. */
const COMPENSATION_MS = 60_000;
/** Order and ledger reads in flight at once while checking. */
const CONCURRENCY = 50;

export interface OrderReport {
  placed: number;
  accepted: number;
  /** 503s answered (each retried with the same Idempotency-Key). */
  unavailable: number;
  /** Seconds from the last accepted order until every order had ended (or the settle time ran out). */
  settledInS: number;
  byKind: OutcomeTally;
  /** Orders that ended otherwise than they asked (`<id>: expected <kind>, ended <what>`). */
  wrong: string[];
  /** Still PENDING after settling. */
  stuck: string[];
  /** Accepted (202) and then unknown to the API (404), or unreadable. */
  missing: string[];
  effects: EffectCounts;
  /** Lost: missing orders plus lost effects of ended ones (confirmed without its capture or stock, stock left reserved or not taken). */
  lost: number;
  /** Done twice: a second capture, money kept by a cancelled order, stock taken beyond the confirmed sum. */
  doneTwice: number;
  /** What countEffects found, naming the order or product. */
  problems: string[];
  deadLetters: Record<string, number>;
}

/** Every accepted order's final view, as far as the settle time allowed, and the ones that did not end. */
export interface Settled {
  final: Map<string, OrderOutcome>;
  settledInS: number;
  stuck: string[];
  missing: string[];
}

/**
 * After the traffic: waits until every accepted order has ended (up to {@link SETTLE_MS}); what has not by then is
 * stuck (still PENDING) or missing (unknown to the API).
 */
export async function settle(env: SoakEnvironment, accepted: readonly string[]): Promise<Settled> {
  const started = Date.now();
  const { final } = await collectFinal(env.api, accepted, SETTLE_MS);
  const settledInS = (Date.now() - started) / 1000;
  const stuck: string[] = [];
  const missing: string[] = [];
  for (const id of accepted) {
    if (final.has(id)) continue;
    const { status, body } = await http('GET', `${env.api}/orders/${id}`).catch((error: Error) => ({
      status: 0,
      body: error.message,
    }));
    if (status === 200 && body.status === 'PENDING') stuck.push(id);
    else missing.push(`${id}: GET answered ${status} ${JSON.stringify(body)}`);
  }
  return { final, settledInS, stuck, missing };
}

/**
 * Then counts from outside, with the chaos suites' helpers, once compensation has had time to finish: each order
 * against what it asked for (compareOutcomes, assertOutcomesAsExpected's logic), lost and duplicated effects
 * (countEffects: the payment ledger of every order, the soak products' stock), and every dead-letter queue.
 */
export async function count(
  env: SoakEnvironment,
  traffic: Traffic,
  placed: number,
  stock: Record<string, number>,
  settled: Settled,
): Promise<OrderReport> {
  const urls = { inventory: env.ops('inventory'), payment: env.ops('payment') };
  const { final, settledInS, stuck, missing } = settled;
  // Compensation: no reservation left on the soak's products (a stuck order may hold one: counted, not awaited).
  const deadline = Date.now() + COMPENSATION_MS;
  while (Date.now() < deadline) {
    const reserved = await Promise.all(
      Object.keys(stock).map(async (p) => (await http('GET', `${urls.inventory}/stock/${p}`)).body?.reserved as number),
    );
    if (reserved.every((r) => r === 0)) break;
    await sleep(500);
  }
  // A refund is published after the cancellation that caused it: a moment for the last ones.
  await sleep(2000);

  const problems: string[] = [];
  const effects = await countEffects(urls, stock, traffic.accepted, final, { concurrency: CONCURRENCY, problems });
  const { wrong, byKind } = compareOutcomes(final, traffic.expected);
  // countEffects counts every order that did not end as lost; here those are reported as stuck or missing.
  const notEnded = traffic.accepted.length - final.size;
  const lostEffects = effects.lost - notEnded;
  const deadLetters = await queueDepths(env.amqpUrl, fleetQueues().map(deadLetterQueueName));
  return {
    placed,
    accepted: traffic.accepted.length,
    unavailable: traffic.unavailable,
    settledInS,
    byKind,
    wrong: wrong.filter((line) => !line.endsWith('ended missing')),
    stuck,
    missing,
    effects,
    lost: missing.length + lostEffects,
    doneTwice: effects.duplicated,
    problems: problems.filter((line) => !line.endsWith('never ended')),
    deadLetters,
  };
}
