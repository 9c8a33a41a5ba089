import { SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import type { AfterGc } from '../bench/lib/inspect';
import { trend, type RssSeries } from '../bench/lib/memory';
import { rssMb } from '../bench/lib/procs';
import type { MemoryTrend } from '../bench/lib/results';
import { FLAT_HEAP_AFTER_GC_MB, FLAT_RSS_AFTER_GC_MB, FLAT_RSS_SLOPE_MB_PER_MIN, MIN_JUDGED_MINUTES } from '../bench/scenarios/soak';
import type { SoakEnvironment } from './environment';
import type { FaultKind, FaultRecord } from './faults';

/**
 * The after-GC bound, per order placed between the two probes compared: the bench's soak allows 2 MB of heap and
 * 5 MB of RSS over its ~200,000 orders, about 10 and 25 bytes an order, far below one retained object per order.
 * A long soak places more orders and gets a proportionally larger allowance; a short one gets the bench's floor.
 */
export const HEAP_BYTES_PER_ORDER = 10;
export const RSS_BYTES_PER_ORDER = 25;

export interface Probe extends Partial<AfterGc> {
  label: string;
  atS: number;
  pid?: number;
  /** When the probed process started, in seconds since the soak started (negative: before the orders began). */
  startedAtS?: number;
  error?: string;
}

/**
 * A process started during the soak is compared from its first probe at least this long after its start: one a
 * few seconds old is still compiling and growing its heap and arenas into its load (measured: a restarted order
 * service 6 s old at 101 MB RSS after a full collection, at 124–127 MB from 30 s on). The processes started
 * before the orders began have served the maximum's burst by the start probe.
 */
export const WARM_AFTER_S = 30;

/** One RSS sample of a service: which process it was, so a restarted service's series is not one line. */
interface Sample {
  t: number;
  pid: number;
  mb: number;
}

/**
 * Each service's RSS every second (from /proc, following the service to a new process after a kill), and its
 * heap, RSS and external memory right after a full collection (through its inspector) whenever asked.
 */
export class MemoryWatch {
  private readonly samples = new Map<ServiceName, Sample[]>(SERVICE_NAMES.map((name) => [name, []]));
  readonly probes = new Map<ServiceName, Probe[]>(SERVICE_NAMES.map((name) => [name, []]));
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly env: SoakEnvironment,
    private readonly t0: number,
  ) {}

  startSampling(everyMs = 1000): void {
    const sample = () => {
      const t = this.seconds();
      for (const name of SERVICE_NAMES) {
        const pid = this.env.fleet!.pid(name);
        const mb = rssMb(pid);
        if (pid && Number.isFinite(mb)) this.samples.get(name)!.push({ t, pid, mb: Math.round(mb * 10) / 10 });
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stopSampling(): void {
    clearInterval(this.timer);
  }

  /** A full collection in each named service (default: all), then its memory; a failure is recorded, not thrown. */
  async probe(label: string, names: readonly ServiceName[] = SERVICE_NAMES): Promise<void> {
    for (const name of names) {
      const at: Probe = { label, atS: this.seconds() };
      const pid = this.env.fleet!.pid(name);
      const startedAt = pid === undefined ? undefined : this.env.startedAt(pid);
      if (pid !== undefined) at.pid = pid;
      if (startedAt !== undefined) at.startedAtS = Math.round((startedAt - this.t0) / 100) / 10;
      try {
        const inspector = await this.env.inspector(name);
        Object.assign(at, await withTimeout(inspector.afterFullGc(), 30_000, `${name}: full-GC probe`));
      } catch (error) {
        at.error = (error as Error).message;
      }
      this.probes.get(name)!.push(at);
    }
  }

  /** The samples of one process, as a series (seconds since the soak started, MB). */
  series(name: ServiceName, pid: number): RssSeries {
    const of = this.samples.get(name)!.filter((s) => s.pid === pid);
    return { t: of.map((s) => s.t), mb: of.map((s) => s.mb) };
  }

  /** Every sample, for the run directory's JSON. */
  allSamples(): Record<string, Sample[]> {
    return Object.fromEntries(this.samples);
  }

  private seconds(): number {
    return Math.round((Date.now() - this.t0) / 100) / 10;
  }
}

export type Verdict = 'flat' | 'grows' | 'unjudged';

/** Growth of one quantity right after a full collection, between two probes of one process. */
export interface Growth {
  from: Probe;
  to: Probe;
  growthMb: number;
  boundMb: number;
  /** Orders placed between the two probes (about). */
  orders: number;
}

export interface ServiceMemory {
  service: ServiceName;
  probes: Probe[];
  afterGc: {
    heap?: Growth;
    /** Judged only from a probe after the process lived through each outage (see {@link judgeService}). */
    rss?: Growth;
    /** RSS from the first warm probe, reported beside: what the first outages left, or all there is when unjudged. */
    rssFromFirst?: Growth;
    verdict: Verdict;
    why: string;
  };
  sampled: {
    pid?: number;
    fromS: number;
    toS: number;
    trend?: MemoryTrend;
    limitMbPerMin: number;
    verdict: Verdict;
    why: string;
  };
  /** Which check decides for this service, and why (always said; the reason matters most when they disagree). */
  judge: string;
  grows: boolean;
}

/**
 * The faults that are outages of what a running service depends on. Each leaves a high-water mark in its RSS once
 * (an outage fills the publish buffer, up to 64 MiB by design, and the allocator keeps some of what it freed):
 * measured over two rounds of broker restart, Redis away and dropped connections at 150 orders/s, RSS after a full
 * collection rose by 30, 8 and 4 MB (order, inventory, payment) over the first round with the heap flat, and by
 * 1.4, 0.9 and 0.1 MB over the second. (Another worker killed is no outage for a service.)
 */
export const OUTAGES: readonly FaultKind[] = ['broker restart', 'Redis away', 'connections dropped'];

/**
 * Judges one service. After a full collection, between probes of the process that ran to the end and its end
 * probe, against the bounds above: V8's heap used from the first probe at least {@link WARM_AFTER_S} after the
 * process started; RSS from the first such probe taken once that process had lived through each kind of outage
 * the run had, so that what grows after it grows with orders or with repeated faults, which is what a leak does (no
 * such probe: RSS is reported, not judged, and the heap judges alone).
 * Sampled: the bench's check over the same process's samples under load (after the warm-up): the least-squares
 * slope over the last half, flat below max(1 MB/min, the GC sawtooth's noise), unjudged over less than 5 minutes.
 * The after-GC check judges growth; sampled RSS rides V8 sizing its heap to the host.
 */
export function judgeService(
  watch: MemoryWatch,
  service: ServiceName,
  window: { warmupS: number; trafficEndS: number; ratePerSecond: number },
  faults: readonly FaultRecord[],
): ServiceMemory {
  const probes = watch.probes.get(service)!;
  const good = probes.filter((p) => p.error === undefined && p.heapUsedMb !== undefined);
  const last = probes.at(-1);
  const to = last && last.error === undefined ? last : undefined;
  const warm = (p: Probe) => p.startedAtS === undefined || p.startedAtS < 0 || p.atS - p.startedAtS >= WARM_AFTER_S;
  const candidates = to ? good.filter((p) => p.pid === to.pid && p !== to && warm(p)) : [];
  const first = candidates[0];
  const kinds = OUTAGES.filter((kind) => faults.some((f) => f.kind === kind));
  const livedThrough = (p: Probe) =>
    kinds.every((kind) => faults.some((f) => f.kind === kind && f.atS >= (p.startedAtS ?? -Infinity) && f.atS + f.tookS <= p.atS));
  const rssFrom = candidates.find(livedThrough);

  const growth = (from: Probe, of: (p: Probe) => number, floorMb: number, bytesPerOrder: number): Growth => {
    const orders = Math.round(Math.max(0, window.trafficEndS - Math.min(from.atS, window.trafficEndS)) * window.ratePerSecond);
    return {
      from,
      to: to!,
      growthMb: round1(of(to!) - of(from)),
      boundMb: round1(Math.max(floorMb, (orders * bytesPerOrder) / 2 ** 20)),
      orders,
    };
  };
  const afterGc: ServiceMemory['afterGc'] = { verdict: 'unjudged', why: '' };
  if (!to) afterGc.why = `no end probe${last?.error ? ` (${last.error})` : ''}`;
  else if (!first) afterGc.why = `no earlier probe of the process that ran to the end, ${WARM_AFTER_S} s after it started`;
  else {
    afterGc.heap = growth(first, (p) => p.heapUsedMb!, FLAT_HEAP_AFTER_GC_MB, HEAP_BYTES_PER_ORDER);
    if (rssFrom) afterGc.rss = growth(rssFrom, (p) => p.rssMb!, FLAT_RSS_AFTER_GC_MB, RSS_BYTES_PER_ORDER);
    if (rssFrom !== first) afterGc.rssFromFirst = growth(first, (p) => p.rssMb!, FLAT_RSS_AFTER_GC_MB, RSS_BYTES_PER_ORDER);
    const flat = afterGc.heap.growthMb < afterGc.heap.boundMb && (!afterGc.rss || afterGc.rss.growthMb < afterGc.rss.boundMb);
    afterGc.verdict = flat ? 'flat' : 'grows';
    afterGc.why = rssFrom
      ? kinds.length > 0 && rssFrom !== first
        ? `RSS judged from the first probe after this process lived through ${kinds.join(', ')}`
        : ''
      : `RSS not judged: no probe of this process after it lived through ${kinds.join(', ')}; the heap judges alone`;
  }

  // Sampled: the process that ran to the end, under load, from the warm-up (or its start) to the end of traffic.
  const pid = to?.pid ?? last?.pid;
  const sampled: ServiceMemory['sampled'] = {
    fromS: window.warmupS,
    toS: window.trafficEndS,
    limitMbPerMin: FLAT_RSS_SLOPE_MB_PER_MIN,
    verdict: 'unjudged',
    why: '',
  };
  if (pid === undefined) sampled.why = 'no process to follow';
  else {
    sampled.pid = pid;
    const series = watch.series(service, pid);
    sampled.fromS = Math.max(window.warmupS, series.t[0] ?? window.warmupS);
    const minutes = (sampled.toS - sampled.fromS) / 60;
    if (series.t.filter((t) => t >= sampled.fromS && t <= sampled.toS).length < 10) sampled.why = 'too few samples';
    else {
      const fitted = trend(series, sampled.fromS, sampled.toS);
      sampled.trend = fitted;
      sampled.limitMbPerMin = round2(Math.max(FLAT_RSS_SLOPE_MB_PER_MIN, fitted.noiseMbPerMin));
      if (minutes < MIN_JUDGED_MINUTES)
        sampled.why = `${minutes.toFixed(1)} min of samples (under ${MIN_JUDGED_MINUTES}): too short to tell a warm-up from a leak`;
      else {
        sampled.verdict = fitted.lateSlopeMbPerMin < sampled.limitMbPerMin ? 'flat' : 'grows';
        sampled.why = `last-half slope ${signed(fitted.lateSlopeMbPerMin)} MB/min vs < ${sampled.limitMbPerMin}`;
      }
    }
  }

  const grows = afterGc.verdict !== 'flat';
  let judge: string;
  if (afterGc.verdict === 'unjudged') judge = `after-GC check could not be made (${afterGc.why}): counted as a failure`;
  else if (sampled.verdict === 'unjudged' || sampled.verdict === afterGc.verdict)
    judge =
      sampled.verdict === 'unjudged'
        ? `after-GC judges: ${afterGc.verdict} (sampled unjudged: ${sampled.why})`
        : `both checks agree: ${afterGc.verdict}`;
  else if (afterGc.verdict === 'flat')
    judge =
      'they disagree and the after-GC check judges: flat. Sampled RSS carries the garbage and free heap V8 keeps between ' +
      'major collections and sizes to the host (270–300 MB sampled against 100–120 MB right after a collection in ' +
      'BENCHMARKS.md, Memory), so its slope follows when collections fell; right after a full collection nothing of ' +
      'that is left, and nothing retained grew';
  else
    judge =
      'they disagree and the after-GC check judges: grows. What is still there right after a full collection is ' +
      'retained; the sampled series hides it under the GC sawtooth';
  return { service, probes, afterGc, sampled, judge, grows };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round2 = (v: number) => Math.round(v * 100) / 100;
export const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '—');
