import { rssMb } from './procs';

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
  peakMb: number;
  /** Median of the second quarter (after warm-up) and of the last quarter. */
  earlyMb: number;
  lateMb: number;
  /** Least-squares slope over the second half, MB per minute. */
  lateSlopeMbPerMin: number;
  levelsOff: boolean;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};

/**
 * Whether a sustained run's RSS levels off: the last quarter is within 10 % (or 15 MB) of the second quarter,
 * or the second half's trend is under 5 MB a minute. A heap that grows without bound fails both.
 */
export function leveling(series: RssSeries): Leveling {
  const n = series.mb.length;
  const quarter = (k: number) => series.mb.slice(Math.floor((n * k) / 4), Math.max(Math.floor((n * (k + 1)) / 4), Math.floor((n * k) / 4) + 1));
  const earlyMb = median(quarter(1));
  const lateMb = median(quarter(3));
  const half = Math.floor(n / 2);
  const xs = series.t.slice(half);
  const ys = series.mb.slice(half);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const lateSlopeMbPerMin = sxx > 0 ? (sxy / sxx) * 60 : 0;
  const growth = lateMb - earlyMb;
  return {
    startMb: series.mb[0] ?? Number.NaN,
    peakMb: Math.max(...series.mb),
    earlyMb,
    lateMb,
    lateSlopeMbPerMin: Math.round(lateSlopeMbPerMin * 10) / 10,
    levelsOff: growth <= Math.max(0.1 * earlyMb, 15) || lateSlopeMbPerMin < 5,
  };
}
