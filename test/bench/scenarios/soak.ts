import { performance } from 'node:perf_hooks';
import type { ChannelModel } from 'amqplib';
import type { QueueType } from '../../../shared/config/config';
import { orderBody, placeOverHttp, placeOverHttpPaced, type Placed } from '../lib/drive';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE } from '../lib/payload';
import type { AfterGc } from '../lib/inspect';
import { startWarrenFleet, type WarrenFleet } from '../lib/procs';
import { connectRaw, Sink, sleep } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope } from '../lib/scope';
import { median, steadyRate } from '../lib/stats';
import { stock } from './fleet';
import { recordMemory } from './soak-memory-verdict';
import { cancelReasons, DECLINE_EVERY, recordLatency, recordOrders } from './soak-orders';
import { SoakSampler } from './soak-sampler';

// The thresholds the verdict applies, where test/soak/ has always imported them from.
export { FLAT_HEAP_AFTER_GC_MB, FLAT_RSS_AFTER_GC_MB, FLAT_RSS_SLOPE_MB_PER_MIN, MIN_JUDGED_MINUTES } from './soak-thresholds';

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

    recordMemory(results, sampler, afterGc, { queueType, rate, warmupMs, durationMs });
    const outcomes = { placed, ended: s.byCorrelation, reasons };
    recordOrders(results, outcomes, { queueType, drainMs, drainedS });
    recordLatency(results, outcomes, { queueType, rate, warmupMs, durationMs, windowMs, t0 });
  } finally {
    await fleet?.stop().catch(() => undefined);
    await sink?.close();
    await raw?.close().catch(() => undefined);
    await scope.close();
  }
}
