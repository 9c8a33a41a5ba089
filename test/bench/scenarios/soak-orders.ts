/**
 * The soak's orders: the mix it places, the cancellations it expects, and its verdicts on them (every order ended, on
 * purpose) and on place-to-CONFIRMED latency over the measured part.
 */
import type { ChannelModel } from 'amqplib';
import type { Placed } from '../lib/drive';
import { EXCHANGE } from '../lib/payload';
import type { Results } from '../lib/results';
import { latency, percentile, type Latency } from '../lib/stats';
import type { MeasuredPart } from './soak-memory-verdict';

/** One order in `DECLINE_EVERY` pays with `tok_decline`: the cancel path (and inventory's release) soaks too. */
export const DECLINE_EVERY = 20;
/** Cancellations that are the saga working as meant; a `TIMEOUT` is an order that did not finish in time. */
const DELIBERATE = new Set(['PAYMENT_DECLINED', 'OUT_OF_STOCK']);

/** The reason of every `order.cancelled` seen, by order id. */
export async function cancelReasons(raw: ChannelModel): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  const channel = await raw.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, durable: false, arguments: { 'x-queue-type': 'classic' } });
  await channel.bindQueue(queue, EXCHANGE, 'order.cancelled');
  await channel.consume(
    queue,
    (m) => {
      if (!m) return;
      const event = JSON.parse(m.content.toString('utf8')) as { orderId?: string; reason?: string };
      if (event.orderId) reasons.set(event.orderId, event.reason ?? '?');
    },
    { noAck: true },
  );
  return reasons;
}

/** What the soak saw of its orders: when each was placed, when each ended, and why the cancelled ones were. */
export interface OrderOutcomes {
  placed: Placed;
  ended: Map<string, number>;
  reasons: Map<string, string>;
}

/** The check that every order placed ended, CONFIRMED or CANCELLED on purpose, within the run and the drain. */
export function recordOrders(
  results: Results,
  { placed, ended, reasons }: OrderOutcomes,
  { queueType, drainMs, drainedS }: { queueType: string; drainMs: number; drainedS: number },
): void {
  let confirmed = 0;
  const cancelled: Record<string, number> = {};
  let lost = 0;
  for (const id of placed.keys()) {
    if (!ended.has(id)) lost++;
    else if (reasons.has(id)) cancelled[reasons.get(id)!] = (cancelled[reasons.get(id)!] ?? 0) + 1;
    else confirmed++;
  }
  const undeliberate = Object.entries(cancelled)
    .filter(([reason]) => !DELIBERATE.has(reason))
    .reduce((a, [, n]) => a + n, 0);
  const cancelText = Object.entries(cancelled)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  results.check(
    `soak.orders.${queueType}`,
    `every order of the soak ended, CONFIRMED or deliberately CANCELLED, within the run and ${drainMs / 1000} s of drain (${queueType})`,
    lost === 0 && undeliberate === 0,
    `${placed.size} placed (1 in ${DECLINE_EVERY} with a declined card), ${confirmed} confirmed, ${cancelText || '0'} cancelled, ${lost} never ended; the last ended ${drainedS.toFixed(1)} s after the last POST was answered`,
    { placed: placed.size, confirmed, cancelled, lost },
  );
}

/** Place-to-CONFIRMED over the measured part (`t0`: the first order): one latency per window, and over all of it. */
export function recordLatency(
  results: Results,
  { placed, ended, reasons }: OrderOutcomes,
  { queueType, rate, warmupMs, durationMs, windowMs, t0 }: MeasuredPart & { windowMs: number; t0: number },
): void {
  const minutes = durationMs / 60_000;
  const windows: number[][] = Array.from({ length: Math.max(1, Math.round(durationMs / windowMs)) }, () => []);
  for (const [id, at] of placed) {
    const t = at - t0 - warmupMs;
    const end = ended.get(id);
    if (t < 0 || t >= durationMs || end === undefined || reasons.has(id)) continue;
    windows[Math.min(windows.length - 1, Math.floor(t / windowMs))]!.push(end - at);
  }
  const reps: Latency[] = windows.filter((w) => w.length > 0).map((w) => latency(w));
  const all = windows.flat().sort((a, b) => a - b);
  results.latency(
    `latency.soak.http.${queueType}`,
    `Warren, place (HTTP) to CONFIRMED over the ${minutes}-minute soak, ${windowMs / 1000} s windows (${queueType})`,
    rate,
    reps,
  );
  results.check(
    `soak.latency.${queueType}`,
    `place-to-CONFIRMED over the whole soak, ${all.length} orders at ${rate}/s (${queueType})`,
    all.length > 0,
    `p50 ${fmtMs(percentile(all, 50))} ms, p99 ${fmtMs(percentile(all, 99))} ms, max ${fmtMs(all.at(-1) ?? Number.NaN)} ms`,
  );
}

const fmtMs = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—');
