import type { ChannelModel } from 'amqplib';
import type { QueueType } from '../../../shared/config/config';
import { placeOnExchangePaced, placeOverHttpPaced, type Placed } from '../lib/drive';
import { leveling, RssSampler } from '../lib/memory';
import type { BenchOptions } from '../lib/options';
import type { WarrenFleet } from '../lib/procs';
import type { Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { cpuPerMessage, cpuSnapshot } from '../lib/cpu';
import { latency, type Latency } from '../lib/stats';

export interface LatencySystem {
  raw: ChannelModel;
  sink: Sink;
  processes: { pids(): Record<string, number> };
}

/** The fraction of the maximum at which issue 15's p99 target (≤ 50 ms) applies; the plain fleet runs there too. */
const TARGET_FRACTION = 0.3;

/**
 * Place-to-CONFIRMED latency at half the fleet's measured maximum (HTTP) rate, open loop, in windows that are the
 * repetitions: Warren through its HTTP API (the target), Warren with orders on the exchange, and the raw pattern
 * at the same rate (what the broker itself costs), interleaved. The same sustained run samples each service's
 * RSS, which must level off. "Placed" is when the POST (or publish) went out; "CONFIRMED" is when
 * `order.confirmed` reached the sink (the order's record says CONFIRMED just before it is published). Then the
 * same at a light 50 orders/s, where the two cores are not the bottleneck, and (default queue type) at a few
 * fractions of the maximum in between: the load up to which the latency targets hold on this machine. At 50/s and
 * at 30 % of the maximum (the targets' points) the plain same-work fleet and Warren from the exchange run too, so
 * that what the machine costs and what Warren costs can be told apart.
 */
export async function halfLoad(
  results: Results,
  options: BenchOptions,
  queueType: QueueType,
  fleet: WarrenFleet,
  warren: LatencySystem,
  raw: LatencySystem,
  plain: LatencySystem,
  maxRate: number,
): Promise<void> {
  const rate = Math.max(20, Math.round(maxRate / 2));
  const isDefault = queueType === options.defaultQueueType;
  const windows = isDefault ? options.latency.windows : options.latency.classicWindows;
  const { windowMs } = options.latency;
  const sampler = new RssSampler(fleet.pids(), 1000);
  const reps = { http: [] as Latency[], exchange: [] as Latency[], raw: [] as Latency[] };
  const cpu: Record<string, Record<string, number>[]> = {};
  let orders = 0;
  // Also the CPU each order costs at this pace: without a backlog there is little batching, so it is more than
  // at the maximum rate.
  const window = async (system: LatencySystem, place: () => Promise<Placed>, cpuKey?: string): Promise<Latency> => {
    system.sink.reset();
    const before = cpuSnapshot(system.processes.pids());
    const placed = await place();
    await system.sink.waitFor(placed.size, 120_000);
    if (cpuKey) (cpu[cpuKey] ??= []).push(cpuPerMessage(before, cpuSnapshot(system.processes.pids()), placed.size));
    return latency([...placed].map(([id, at]) => (system.sink.byCorrelation.get(id) ?? Number.NaN) - at));
  };
  try {
    for (let w = 0; w < windows; w++) {
      reps.http.push(await window(warren, () => placeOverHttpPaced(fleet.api, rate, windowMs), 'http'));
      reps.exchange.push(await window(warren, () => placeOnExchangePaced(warren.raw, rate, windowMs), 'exchange'));
      reps.raw.push(await window(raw, () => placeOnExchangePaced(raw.raw, rate, windowMs), 'raw'));
      orders += 2 * Math.floor((rate * windowMs) / 1000);
    }
  } finally {
    const series = sampler.stop();
    const levels = Object.fromEntries(Object.entries(series).map(([name, s]) => [name, leveling(s)]));
    const ok = Object.values(levels).every((l) => l.levelsOff);
    const seconds = Math.round(series['order']!.t.at(-1) ?? 0);
    const detail = Object.entries(levels)
      .map(([n, l]) => `${n} peaks ${l.earlyPeakMb.toFixed(0)} → ${l.latePeakMb.toFixed(0)} MB (first half → second)`)
      .join('; ');
    results.check(
      `rss.services.${queueType}`,
      `service RSS levels off over ${seconds} s, ${orders} orders at ${rate}/s (${queueType})`,
      ok,
      detail,
      { levels, series, orders },
    );
  }
  // The same at a light, fixed rate: what an order waits when the two cores are not the bottleneck.
  const light = { http: [] as Latency[], exchange: [] as Latency[], plain: [] as Latency[], raw: [] as Latency[] };
  const lightRate = Math.min(50, rate);
  for (let w = 0; w < options.latency.lightWindows; w++) {
    light.http.push(await window(warren, () => placeOverHttpPaced(fleet.api, lightRate, windowMs), 'lightHttp'));
    light.exchange.push(await window(warren, () => placeOnExchangePaced(warren.raw, lightRate, windowMs), 'lightExchange'));
    light.plain.push(await window(plain, () => placeOnExchangePaced(plain.raw, lightRate, windowMs), 'lightPlain'));
    light.raw.push(await window(raw, () => placeOnExchangePaced(raw.raw, lightRate, windowMs), 'lightRaw'));
  }
  const curve: { fraction: number; rate: number; reps: Latency[]; exchange: Latency[]; plain: Latency[] }[] = [];
  // Two windows a point: one window's p99 is a handful of orders, and the 30 % point carries a target.
  const windowsAt = async (curveRate: number, key: string, peers: boolean) => {
    const out = { reps: [] as Latency[], exchange: [] as Latency[], plain: [] as Latency[] };
    for (let w = 0; w < Math.max(1, Math.round(windows / 2)); w++) {
      out.reps.push(await window(warren, () => placeOverHttpPaced(fleet.api, curveRate, windowMs), key));
      if (!peers) continue;
      out.exchange.push(await window(warren, () => placeOnExchangePaced(warren.raw, curveRate, windowMs), `${key}Exchange`));
      out.plain.push(await window(plain, () => placeOnExchangePaced(plain.raw, curveRate, windowMs), `${key}Plain`));
    }
    return out;
  };
  if (isDefault) {
    for (const fraction of options.latency.curve) {
      const curveRate = Math.round(maxRate * fraction);
      if (curveRate <= lightRate || curveRate >= rate) continue;
      curve.push({ fraction, rate: curveRate, ...(await windowsAt(curveRate, `curve${fraction}`, fraction === TARGET_FRACTION)) });
    }
  }
  // Issue 15's latency targets are at 30 % of the maximum and at 50/s (below); half load is reported without one.
  results.latency(`latency.e2e.http.${queueType}`, `Warren, place (HTTP) to CONFIRMED (${queueType})`, rate, reps.http);
  results.latency(
    `latency.e2e.exchange.${queueType}`,
    `Warren, order.placed on the exchange to CONFIRMED (${queueType})`,
    rate,
    reps.exchange,
  );
  results.latency(`latency.e2e.raw.${queueType}`, `raw pattern, order.placed to order.confirmed (${queueType})`, rate, reps.raw);
  const paced: Record<string, string> = {
    raw: `raw pattern at ${rate}/s paced, per order`,
    exchange: `Warren fleet, exchange at ${rate}/s paced, per order`,
    http: `Warren fleet, HTTP at ${rate}/s paced, per order`,
    lightRaw: `raw pattern at ${lightRate}/s paced, per order`,
    lightHttp: `Warren fleet, HTTP at ${lightRate}/s paced, per order`,
    lightExchange: `Warren fleet, exchange at ${lightRate}/s paced, per order`,
    lightPlain: `plain same-work fleet at ${lightRate}/s paced, per order`,
  };
  for (const [key, label] of Object.entries(paced))
    if (cpu[key]) results.cpuCost(`cpu.paced.${key}.${queueType}`, `${label} (${queueType})`, cpu[key]!);
  for (const point of curve) {
    results.latency(
      `latency.e2e.http.curve${point.fraction}.${queueType}`,
      `Warren, place (HTTP) to CONFIRMED at ${Math.round(point.fraction * 100)} % of max (${queueType})`,
      point.rate,
      point.reps,
      point.fraction === TARGET_FRACTION ? { kind: 'max', value: 50 } : undefined,
    );
    results.cpuCost(
      `cpu.paced.curve${point.fraction}.${queueType}`,
      `Warren fleet, HTTP at ${point.rate}/s paced (${Math.round(point.fraction * 100)} % of max), per order (${queueType})`,
      cpu[`curve${point.fraction}`]!,
    );
    if (point.plain.length === 0) continue;
    const pct = Math.round(point.fraction * 100);
    results.latency(
      `latency.e2e.exchange.curve${point.fraction}.${queueType}`,
      `Warren, order.placed on the exchange to CONFIRMED at ${pct} % of max (${queueType})`,
      point.rate,
      point.exchange,
    );
    results.latency(
      `latency.e2e.plain.curve${point.fraction}.${queueType}`,
      `plain same work, order.placed to order.confirmed at ${pct} % of max (${queueType})`,
      point.rate,
      point.plain,
    );
    results.cpuCost(
      `cpu.paced.curve${point.fraction}.exchange.${queueType}`,
      `Warren fleet, exchange at ${point.rate}/s paced (${pct} % of max), per order (${queueType})`,
      cpu[`curve${point.fraction}Exchange`]!,
    );
    results.cpuCost(
      `cpu.paced.curve${point.fraction}.plain.${queueType}`,
      `plain same-work fleet at ${point.rate}/s paced (${pct} % of max), per order (${queueType})`,
      cpu[`curve${point.fraction}Plain`]!,
    );
  }
  if (light.http.length > 0) {
    results.latency(
      `latency.e2e.http.light.${queueType}`,
      `Warren, place (HTTP) to CONFIRMED, light load (${queueType})`,
      lightRate,
      light.http,
      { kind: 'max', value: 20 },
    );
    results.latency(
      `latency.e2e.exchange.light.${queueType}`,
      `Warren, order.placed on the exchange to CONFIRMED, light load (${queueType})`,
      lightRate,
      light.exchange,
    );
    results.latency(
      `latency.e2e.plain.light.${queueType}`,
      `plain same work, order.placed to order.confirmed, light load (${queueType})`,
      lightRate,
      light.plain,
    );
    results.latency(
      `latency.e2e.raw.light.${queueType}`,
      `raw pattern, order.placed to order.confirmed, light load (${queueType})`,
      lightRate,
      light.raw,
    );
  }
}
