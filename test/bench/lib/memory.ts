import { rssMb } from './procs';
import type { MemoryTrend } from './results';

export interface RssSeries {
  /** Seconds since sampling started. */
  t: number[];
  mb: number[];
}

/** Samples the RSS of each named process every `everyMs` until stopped. */
export class RssSampler {
  readonly series: Record<string, RssSeries> = {};
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();

  constructor(pids: Record<string, number>, everyMs = 1000) {
    for (const name of Object.keys(pids)) this.series[name] = { t: [], mb: [] };
    const sample = () => {
      const t = (Date.now() - this.startedAt) / 1000;
      for (const [name, pid] of Object.entries(pids)) {
        const mb = rssMb(pid);
        if (Number.isFinite(mb)) {
          this.series[name]!.t.push(t);
          this.series[name]!.mb.push(Math.round(mb * 10) / 10);
        }
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): Record<string, RssSeries> {
    clearInterval(this.timer);
    return this.series;
  }
}

export interface Leveling {
  startMb: number;
  /** Highest RSS in the first and in the second half of the run. */
  earlyPeakMb: number;
  latePeakMb: number;
  /** Least-squares trend over the whole run, MB per minute (a sawtooth of GC cycles makes it noisy). */
  slopeMbPerMin: number;
  levelsOff: boolean;
}

/**
 * Whether a sustained run's RSS levels off. A heap's RSS is a sawtooth (it grows until a collection, then drops),
 * so the test compares peaks: the second half's highest RSS may not exceed the first half's by more than 10 %
 * (or 15 MB). A leak raises every peak after the last; a service that levels off repeats them.
 */
export function leveling(series: RssSeries): Leveling {
  const n = series.mb.length;
  const half = Math.max(1, Math.floor(n / 2));
  const earlyPeakMb = Math.max(...series.mb.slice(0, half));
  const latePeakMb = Math.max(...series.mb.slice(half));
  return {
    startMb: series.mb[0] ?? Number.NaN,
    earlyPeakMb,
    latePeakMb,
    slopeMbPerMin: Math.round(slopePerMinute(series.t, series.mb) * 10) / 10,
    levelsOff: latePeakMb <= earlyPeakMb + Math.max(0.1 * earlyPeakMb, 15),
  };
}

/** Least-squares slope of `y` against `t` (seconds), per minute (0 with fewer than two distinct times). */
export function slopePerMinute(t: readonly number[], y: readonly number[]): number {
  const n = Math.min(t.length, y.length);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += t[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (t[i]! - mx) * (y[i]! - my);
    sxx += (t[i]! - mx) ** 2;
  }
  return sxx > 0 ? (sxy / sxx) * 60 : 0;
}

/**
 * A series over [from, to] s: first, highest and last sample, least-squares slope over all of it and over its last
 * half, and the sawtooth's noise over the last half: a level sawtooth of amplitude A (peak to trough of what the
 * fitted line leaves) fakes at most a slope of about 1.5 A / T over a window of T minutes (a single drop or rise
 * in the middle of the window), so a last-half slope within that is not evidence of growth.
 */
export function trend(series: RssSeries, from: number, to: number): MemoryTrend {
  const t: number[] = [];
  const mb: number[] = [];
  series.t.forEach((x, i) => {
    if (x < from || x > to) return;
    t.push(x);
    mb.push(series.mb[i]!);
  });
  const mid = (from + to) / 2;
  const lateT = t.filter((x) => x >= mid);
  const lateMb = mb.slice(t.length - lateT.length);
  const lateSlope = slopePerMinute(lateT, lateMb);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const [mt, mm] = [mean(lateT), mean(lateMb)];
  const residuals = lateT.map((x, i) => lateMb[i]! - (mm + (lateSlope / 60) * (x - mt)));
  const amplitude = residuals.length > 0 ? Math.max(...residuals) - Math.min(...residuals) : 0;
  const lateMinutes = (to - mid) / 60;
  return {
    startMb: mb[0] ?? Number.NaN,
    peakMb: mb.length > 0 ? Math.max(...mb) : Number.NaN,
    endMb: mb.at(-1) ?? Number.NaN,
    slopeMbPerMin: round2(slopePerMinute(t, mb)),
    lateSlopeMbPerMin: round2(lateSlope),
    noiseMbPerMin: round2(lateMinutes > 0 ? (1.5 * amplitude) / lateMinutes : Number.POSITIVE_INFINITY),
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;
