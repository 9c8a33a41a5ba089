import { summarize, type Latency, type Summary } from './stats';

/** One measured quantity over the repetitions of a run. */
export interface Row {
  id: string;
  group: string;
  label: string;
  unit: string;
  summary: Summary;
  note?: string;
}

export interface Target {
  /** `min`: the value must be at least `value`; `max`: at most. */
  kind: 'min' | 'max';
  value: number;
}

/** A ratio of two rows measured in the same run, repetition by repetition (paired, so drift cancels). */
export interface Ratio {
  id: string;
  label: string;
  numerator: string;
  denominator: string;
  summary: Summary;
  target?: Target;
  pass?: boolean;
}

export interface LatencyRow {
  id: string;
  label: string;
  /** The load it was measured under, in orders (or messages) per second. */
  ratePerSecond: number;
  /** One entry per repetition (window). */
  reps: Latency[];
  p50: Summary;
  p95: Summary;
  p99: Summary;
  target?: Target;
  pass?: boolean;
}

/** CPU microseconds per message in each process (median over the repetitions): where the time goes. */
export interface CpuRow {
  id: string;
  label: string;
  perMessageUs: Record<string, number>;
}

/** How one service's memory moved over the measured part of the soak (MB; slopes: least squares, MB per minute). */
export interface MemoryRow {
  id: string;
  label: string;
  service: string;
  ratePerSecond: number;
  /** Length of the measured part (after the warm-up). */
  minutes: number;
  rss: MemoryTrend;
  /** V8 heap used (the service's `nodejs_heap_size_used_bytes`), when /metrics answered. */
  heap?: MemoryTrend;
  /** The last-half RSS slope the verdict allows: the flat threshold, or the sawtooth's noise when that is larger. */
  limitMbPerMin: number;
  /** Judged only over a long enough measured part (undefined: too short to tell a warm-up from a leak). */
  flat?: boolean;
  /** Every sample from the first order on (seconds, MB), warm-up and drain included: for the JSON, not the table. */
  series: { warmupS: number } & Record<'rss' | 'heap' | 'heapTotal' | 'external', { t: number[]; mb: number[] }>;
}

export interface MemoryTrend {
  startMb: number;
  peakMb: number;
  endMb: number;
  slopeMbPerMin: number;
  /** Over the last half of the measured part only: a leak keeps climbing there, a warm-up has levelled off. */
  lateSlopeMbPerMin: number;
  /** The largest last-half slope a level sawtooth of the amplitude seen could fake: 1.5 × (peak − trough) / minutes. */
  noiseMbPerMin: number;
}

export interface Check {
  id: string;
  label: string;
  pass: boolean;
  detail: string;
  data?: unknown;
}

/** Everything one `npm run bench` found; written as JSON and rendered as the table. */
export class Results {
  readonly rows: Row[] = [];
  readonly ratios: Ratio[] = [];
  readonly latencies: LatencyRow[] = [];
  readonly checks: Check[] = [];
  readonly cpu: CpuRow[] = [];
  readonly memory: MemoryRow[] = [];
  readonly errors: { scenario: string; error: string }[] = [];

  row(id: string, group: string, label: string, unit: string, samples: number[], note?: string): Row {
    const row: Row = { id, group, label, unit, summary: summarize(samples), ...(note ? { note } : {}) };
    this.rows.push(row);
    return row;
  }

  ratio(id: string, label: string, numerator: Row, denominator: Row, target?: Target): Ratio {
    const n = numerator.summary.samples;
    const d = denominator.summary.samples;
    const paired = n.slice(0, Math.min(n.length, d.length)).map((v, i) => v / d[i]!);
    const summary = summarize(paired);
    const ratio: Ratio = {
      id,
      label,
      numerator: numerator.id,
      denominator: denominator.id,
      summary,
      ...(target ? { target, pass: meets(summary.median, target) } : {}),
    };
    this.ratios.push(ratio);
    return ratio;
  }

  latency(id: string, label: string, ratePerSecond: number, reps: Latency[], target?: Target): LatencyRow {
    const row: LatencyRow = {
      id,
      label,
      ratePerSecond,
      reps,
      p50: summarize(reps.map((r) => r.p50)),
      p95: summarize(reps.map((r) => r.p95)),
      p99: summarize(reps.map((r) => r.p99)),
      ...(target ? { target } : {}),
    };
    if (target) row.pass = meets(row.p99.median, target);
    this.latencies.push(row);
    return row;
  }

  /** Records the median, per process, of several repetitions' CPU-per-message figures. */
  cpuCost(id: string, label: string, reps: Record<string, number>[]): void {
    const names = [...new Set(reps.flatMap((r) => Object.keys(r)))];
    const perMessageUs = Object.fromEntries(names.map((n) => [n, Math.round(summarize(reps.map((r) => r[n] ?? Number.NaN)).median)]));
    this.cpu.push({ id, label, perMessageUs });
  }

  check(id: string, label: string, pass: boolean, detail: string, data?: unknown): void {
    this.checks.push({ id, label, pass, detail, ...(data === undefined ? {} : { data }) });
  }

  find(id: string): Row | undefined {
    return this.rows.find((r) => r.id === id);
  }
}

export function meets(value: number, target: Target): boolean {
  return target.kind === 'min' ? value >= target.value : value <= target.value;
}
