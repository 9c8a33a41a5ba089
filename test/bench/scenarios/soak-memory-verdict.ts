/**
 * The soak's memory verdict: per service, the RSS (and V8 heap) trend over the measured part, flat or not against
 * the thresholds, and the heap and RSS right after a full collection before and after it.
 */
import { trend, type RssSeries } from '../lib/memory';
import type { AfterGc } from '../lib/inspect';
import type { Results } from '../lib/results';
import { round1, type SoakSampler } from './soak-sampler';
import { FLAT_HEAP_AFTER_GC_MB, FLAT_RSS_AFTER_GC_MB, FLAT_RSS_SLOPE_MB_PER_MIN, MIN_JUDGED_MINUTES } from './soak-thresholds';

/** How the measured part ran: its place in the run (after `warmupMs`), its length and rate. */
export interface MeasuredPart {
  queueType: string;
  rate: number;
  warmupMs: number;
  durationMs: number;
}

/** Records each service's memory row, and (over a run long enough to judge) the after-collection and RSS checks. */
export function recordMemory(
  results: Results,
  sampler: SoakSampler,
  afterGc: Record<string, AfterGc[]>,
  { queueType, rate, warmupMs, durationMs }: MeasuredPart,
): void {
  const from = warmupMs / 1000;
  const to = (warmupMs + durationMs) / 1000;
  const minutes = durationMs / 60_000;
  const flatness: string[] = [];
  let allFlat = true;
  for (const service of Object.keys(sampler.rss)) {
    const rss = trend(sampler.rss[service]!, from, to);
    const heapSeries = sampler.heap[service]!;
    const heap = heapSeries.t.some((t) => t >= from && t <= to) ? trend(heapSeries, from, to) : undefined;
    const limitMbPerMin = Math.max(FLAT_RSS_SLOPE_MB_PER_MIN, rss.noiseMbPerMin);
    const flat = minutes >= MIN_JUDGED_MINUTES ? rss.lateSlopeMbPerMin < limitMbPerMin : undefined;
    allFlat &&= flat !== false;
    results.memory.push({
      id: `soak.rss.${service}.${queueType}`,
      label: `${service} (${queueType})`,
      service,
      ratePerSecond: rate,
      minutes,
      rss,
      ...(heap ? { heap } : {}),
      limitMbPerMin: round1(limitMbPerMin),
      ...(flat === undefined ? {} : { flat }),
      series: {
        warmupS: from,
        rss: sampler.rss[service]!,
        heap: heapSeries,
        heapTotal: sampler.heapTotal[service]!,
        external: sampler.external[service]!,
      },
    });
    // What the last-half slope would be per order, were it all retained: a leak's size, or the noise's. Beside
    // it, the last-half slopes of V8's committed heap and of external memory: where a growth of RSS would be.
    const bytesPerOrder = Math.round((rss.lateSlopeMbPerMin * 2 ** 20) / (rate * 60));
    const lateOf = (x: RssSeries) => (x.t.some((t) => t >= from && t <= to) ? fmtSlope(trend(x, from, to).lateSlopeMbPerMin) : '—');
    flatness.push(
      `${service} ${fmtSlope(rss.lateSlopeMbPerMin)} MB/min (≈ ${bytesPerOrder} B/order; V8 heap total ${lateOf(sampler.heapTotal[service]!)}, external ${lateOf(sampler.external[service]!)}) vs < ${round1(limitMbPerMin)}`,
    );
  }
  // The heap after a full collection does not ride the GC sawtooth: a JS leak shows as its growth.
  const gcDetail = Object.entries(afterGc).map(
    ([name, [before, after]]) =>
      `${name} heap ${before?.heapUsedMb} → ${after?.heapUsedMb} MB, RSS ${before?.rssMb} → ${after?.rssMb} MB, external ${before?.externalMb} → ${after?.externalMb} MB`,
  );
  // NaN (a probe that failed) is never flat.
  const growth = (of: (m: AfterGc) => number) =>
    Math.max(...Object.values(afterGc).map(([before, after]) => (after ? of(after) : Number.NaN) - (before ? of(before) : Number.NaN)));
  if (minutes >= MIN_JUDGED_MINUTES)
    results.check(
      `soak.heap.${queueType}`,
      `after a full collection, V8 heap grows by less than ${FLAT_HEAP_AFTER_GC_MB} MB and RSS by less than ${FLAT_RSS_AFTER_GC_MB} MB over the ${minutes}-minute soak (${queueType})`,
      growth((m) => m.heapUsedMb) < FLAT_HEAP_AFTER_GC_MB && growth((m) => m.rssMb) < FLAT_RSS_AFTER_GC_MB,
      `before → after the measured part: ${gcDetail.join('; ')}`,
      { afterGc },
    );
  if (minutes >= MIN_JUDGED_MINUTES)
    results.check(
      `soak.rss.${queueType}`,
      `service RSS flat over a ${minutes}-minute soak at ${rate} orders/s, half the HTTP maximum (${queueType})`,
      allFlat,
      `last-half slope: ${flatness.join('; ')}`,
    );
}

const fmtSlope = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
