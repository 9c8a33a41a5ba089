import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import type { QueueType } from '../../../shared/config/config';
import { SERVICE_NAMES } from '../../../workers/registry';
import { orderBody, placeOverHttp, placeOverHttpPaced, type Placed } from '../lib/drive';
import { trend, type RssSeries } from '../lib/memory';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE } from '../lib/payload';
import type { AfterGc } from '../lib/inspect';
import { rssMb, startWarrenFleet, type WarrenFleet } from '../lib/procs';
import { connectRaw, Sink, sleep } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope } from '../lib/scope';
import { latency, median, percentile, steadyRate, type Latency } from '../lib/stats';
import { stock } from './fleet';

/**
 * The highest last-half RSS slope still called flat, in MB per minute: 10 MB over the 10-minute run. At the
 * soak's rate (half the fleet's maximum, a few hundred orders/s on the two-core bench machine: ten thousand
 * orders a minute or more) it is ~100 bytes per order, about what a single Map entry keyed by an order id
 * costs, so any per-order retention shows above it; a service that has levelled off moves by a few MB at most
 * (GC sawtooth, V8 growing a space once). When the sawtooth itself could fake a larger slope over the window (the
 * 60 s quick run: a 30 s last half), the verdict allows that noise instead (see {@link trend}).
 */
export const FLAT_RSS_SLOPE_MB_PER_MIN = 1;

/**
 * The shortest measured part whose RSS is judged: over less (the 60 s quick run), a service is still growing into
 * its heap and the last half is too short to tell a warm-up from a leak, so the numbers are reported unjudged.
 */
export const MIN_JUDGED_MINUTES = 5;

/**
 * The most the V8 heap and the RSS right after a full collection may grow over the measured part and still be
 * called flat, in MB: over the 10-minute soak (~200,000 orders) about 10 and 25 bytes an order, far below one
 * retained object per order. Sampled RSS also carries the garbage not yet collected (a service at 270–330 MB
 * sampled is at 100–115 MB right after a full collection), so its slope depends on when the major collections
 * fell; after a full collection it does not.
 */
export const FLAT_HEAP_AFTER_GC_MB = 2;
export const FLAT_RSS_AFTER_GC_MB = 5;

/** One order in `DECLINE_EVERY` pays with `tok_decline`: the cancel path (and inventory's release) soaks too. */
const DECLINE_EVERY = 20;
/** Cancellations that are the saga working as meant; a `TIMEOUT` is an order that did not finish in time. */
const DELIBERATE = new Set(['PAYMENT_DECLINED', 'OUT_OF_STOCK']);

/**
 * Issue 15's soak: RSS flat over a 10-minute sustained run at half load. The three services as processes (as in
 * the fleet scenario), their maximum HTTP rate measured as the fleet scenario does (closed loop, 128 clients,
 * median of repetitions), then orders through the HTTP API at half that rate, open loop, for a warm-up that is not
 * counted and the measured part, sampling each service's RSS (from /proc) and V8 heap used (from its /metrics)
 * every second. Per service: RSS at the start of the measured part, peak, end, the least-squares slope over the
 * measured part and over its last half (a leak keeps climbing there; a warm-up has levelled off). Every placed
 * order must end, CONFIRMED or deliberately CANCELLED (a declined payment), within the run and a drain period;
 * place-to-CONFIRMED latency over the measured part, in windows.
 */
export async function benchSoak(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const { durationMs, warmupMs, drainMs, sampleMs, windowMs, probeOrders, probeReps } = options.soak;
  const { httpConcurrency } = options.fleet;
  const scope = await openScope(`soak-${queueType}`);
  let raw: ChannelModel | undefined;
  let sink: Sink | undefined;
  let fleet: WarrenFleet | undefined;
  try {
    raw = await connectRaw(scope.url, 'soak');
    const ch = await raw.createChannel();
    await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
    await ch.close();
    sink = await Sink.open(raw, EXCHANGE, ['order.confirmed', 'order.cancelled']);
    const reasons = await cancelReasons(raw);
    await stock(scope);
    fleet = await startWarrenFleet(scope, queueType, {}, true);
    const s = sink;
    const f = fleet;

    // The fleet's maximum HTTP rate, as the fleet scenario measures it: a warm-up, then closed-loop repetitions.
    const confirmAll = async (count: number): Promise<number> => {
      s.reset();
      const placed = await placeOverHttp(f.api, count, httpConcurrency);
      await s.waitFor(placed.size, 180_000);
      return steadyRate(s.arrivals);
    };
    await confirmAll(300);
    const probes: number[] = [];
    for (let rep = 0; rep < probeReps; rep++) probes.push(await confirmAll(probeOrders));
    const maxRate = median(probes);
    const rate = Math.max(20, Math.round(maxRate / 2));
    results.row(
      `soak.maxrate.${queueType}`,
      `soak (${queueType})`,
      `Warren fleet, orders via HTTP API (${httpConcurrency} clients): the maximum the soak runs at half of`,
      'orders/s',
      probes,
    );

    // The soak: open loop at half the maximum; t = 0 when the first order goes out.
    s.reset();
    reasons.clear();
    const t0 = performance.now();
    const sampler = new SoakSampler(f, t0, sampleMs);
    // Each service's memory after a full collection, just before the measured part (so that the collection's drop
    // falls in the warm-up) and just after it (outside the window the slopes are fitted over).
    const afterGc: Record<string, AfterGc[]> = {};
    const probeGc = async () => {
      for (const [name, inspector] of Object.entries(f.inspectors)) (afterGc[name] ??= []).push(await inspector.afterFullGc());
    };
    const startProbe = sleep(Math.max(0, warmupMs - 5000)).then(probeGc);
    startProbe.catch(() => undefined); // awaited below; a failed run must not also end on an unhandled rejection
    let placed: Placed;
    let drainedS: number;
    try {
      placed = await placeOverHttpPaced(f.api, rate, warmupMs + durationMs, (i) =>
        i % DECLINE_EVERY === DECLINE_EVERY - 1 ? orderBody(i).replace('"tok_visa"', '"tok_decline"') : orderBody(i),
      );
      await startProbe;
      await probeGc();
      const drainFrom = performance.now();
      await s.waitFor(placed.size, drainMs).catch(() => undefined);
      drainedS = (performance.now() - drainFrom) / 1000;
      await sleep(500); // the cancellations' own queue may trail the sink's by a moment
    } finally {
      sampler.stop();
    }

    // Memory over the measured part, per service.
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

    // Orders: every one placed ended, CONFIRMED or CANCELLED on purpose.
    const ended = s.byCorrelation;
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

    // Place-to-CONFIRMED over the measured part: one latency per window, and over all of it.
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
  } finally {
    await fleet?.stop().catch(() => undefined);
    await sink?.close();
    await raw?.close().catch(() => undefined);
    await scope.close();
  }
}

/**
 * Each service's RSS (from /proc, every tick), and from its /metrics (when the last scrape is done) V8 heap used,
 * V8 heap total and external memory: where RSS growth is, if any (heap objects, V8's committed heap, or buffers).
 */
class SoakSampler {
  readonly rss: Record<string, RssSeries> = {};
  readonly heap: Record<string, RssSeries> = {};
  readonly heapTotal: Record<string, RssSeries> = {};
  readonly external: Record<string, RssSeries> = {};
  private readonly timer: NodeJS.Timeout;
  private readonly scraping = new Set<string>();

  constructor(fleet: WarrenFleet, t0: number, everyMs: number) {
    const pids = fleet.pids();
    for (const name of SERVICE_NAMES) {
      this.rss[name] = { t: [], mb: [] };
      this.heap[name] = { t: [], mb: [] };
      this.heapTotal[name] = { t: [], mb: [] };
      this.external[name] = { t: [], mb: [] };
    }
    const sample = () => {
      const t = round1((performance.now() - t0) / 1000);
      for (const name of SERVICE_NAMES) {
        const mb = rssMb(pids[name]);
        if (Number.isFinite(mb)) push(this.rss[name]!, t, mb);
        if (this.scraping.has(name)) continue;
        this.scraping.add(name);
        const done = (v: V8Memory) => {
          this.scraping.delete(name);
          if (Number.isFinite(v.used)) push(this.heap[name]!, t, v.used);
          if (Number.isFinite(v.total)) push(this.heapTotal[name]!, t, v.total);
          if (Number.isFinite(v.external)) push(this.external[name]!, t, v.external);
        };
        v8Memory(fleet.ops[name]).then(done, () => done(NO_V8_MEMORY));
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function push(series: RssSeries, t: number, mb: number): void {
  series.t.push(t);
  series.mb.push(round1(mb));
}

interface V8Memory {
  used: number;
  total: number;
  external: number;
}
const NO_V8_MEMORY: V8Memory = { used: Number.NaN, total: Number.NaN, external: Number.NaN };

/** Heap used, heap total and external memory from a service's default prom-client metrics, in MB (NaN: missing). */
async function v8Memory(ops: string): Promise<V8Memory> {
  try {
    const text = await fetch(`${ops}/metrics`, { signal: AbortSignal.timeout(900) }).then((r) => r.text());
    const mb = (metric: string) => {
      const line = new RegExp(`^\\w*${metric}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
      return line ? Number(line[1]) / 2 ** 20 : Number.NaN;
    };
    return {
      used: mb('nodejs_heap_size_used_bytes'),
      total: mb('nodejs_heap_size_total_bytes'),
      external: mb('nodejs_external_memory_bytes'),
    };
  } catch {
    return NO_V8_MEMORY;
  }
}

/** The reason of every `order.cancelled` seen, by order id. */
async function cancelReasons(raw: ChannelModel): Promise<Map<string, string>> {
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

const round1 = (v: number) => Math.round(v * 10) / 10;
const fmtSlope = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
const fmtMs = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—');
