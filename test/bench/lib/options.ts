import type { QueueType } from '../../../shared/config/config';

/** Sizes of one run. `--quick` is a smoke run (a minute or two); the full run takes about 20 minutes, half of it the 10-minute soak. */
export interface BenchOptions {
  quick: boolean;
  defaultQueueType: QueueType;
  /** Queue types the main scenarios run on (the quorum vs classic sweep). */
  queueTypes: QueueType[];
  publish: { count: number; window: number; reps: number };
  consume: { count: number; prefetch: number; reps: number };
  relay: { count: number; prefetch: number; reps: number };
  sweep: { prefetches: number[]; windowMs: number; reps: number; preload: number };
  fleet: { orders: number; httpConcurrency: number; reps: number };
  /** `curve`: fractions of the fleet's HTTP maximum at which place-to-CONFIRMED is also measured (default queue type). */
  latency: { publishMs: number; windowMs: number; windows: number; classicWindows: number; lightWindows: number; curve: number[] };
  blocked: { ratePerSecond: number; baselineMs: number; blockedMs: number; recoveryMs: number };
  /** The fleet on deploy/cluster's three nodes with each of `replicas` replicas of every worker (`--only=scaling`: needs Docker). */
  scaling: { orders: number; warmup: number; idleMs: number; reps: number; replicas: number[] };
  /**
   * The soak: the fleet at half its HTTP maximum (measured first: `probeOrders` × `probeReps` as in the fleet
   * scenario), open loop, for `warmupMs` (not counted) and `durationMs` (measured), then up to `drainMs` for the last
   * orders to end; RSS and heap used sampled every `sampleMs`; latency in windows of `windowMs`.
   */
  soak: {
    durationMs: number;
    warmupMs: number;
    drainMs: number;
    sampleMs: number;
    windowMs: number;
    probeOrders: number;
    probeReps: number;
  };
}

export function benchOptions(argv: readonly string[]): BenchOptions & { only?: string[] } {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? onlyArg.slice('--only='.length).split(',') : undefined;
  const queueArg = argv.find((a) => a.startsWith('--queue='))?.slice('--queue='.length);
  const base: BenchOptions = quick
    ? {
        quick,
        defaultQueueType: 'quorum',
        queueTypes: ['quorum', 'classic'],
        publish: { count: 3000, window: 300, reps: 2 },
        consume: { count: 3000, prefetch: 200, reps: 2 },
        relay: { count: 1500, prefetch: 200, reps: 2 },
        sweep: { prefetches: [1, 100, 500], windowMs: 1500, reps: 1, preload: 3000 },
        fleet: { orders: 600, httpConcurrency: 128, reps: 1 },
        latency: { publishMs: 1000, windowMs: 3000, windows: 2, classicWindows: 1, lightWindows: 1, curve: [0.25] },
        blocked: { ratePerSecond: 2000, baselineMs: 2000, blockedMs: 3000, recoveryMs: 10000 },
        scaling: { orders: 1000, warmup: 300, idleMs: 3000, reps: 1, replicas: [1, 2, 3] },
        soak: { durationMs: 60_000, warmupMs: 30_000, drainMs: 60_000, sampleMs: 1000, windowMs: 10_000, probeOrders: 1500, probeReps: 1 },
      }
    : {
        quick,
        defaultQueueType: 'quorum',
        queueTypes: ['quorum', 'classic'],
        publish: { count: 10000, window: 300, reps: 5 },
        consume: { count: 15000, prefetch: 200, reps: 3 },
        relay: { count: 15000, prefetch: 200, reps: 3 },
        sweep: { prefetches: [1, 10, 50, 100, 200, 500], windowMs: 2500, reps: 3, preload: 11000 },
        fleet: { orders: 3000, httpConcurrency: 128, reps: 3 },
        latency: { publishMs: 3000, windowMs: 5000, windows: 4, classicWindows: 3, lightWindows: 2, curve: [0.2, 0.3, 0.4] },
        blocked: { ratePerSecond: 2500, baselineMs: 3000, blockedMs: 6000, recoveryMs: 12000 },
        scaling: { orders: 2000, warmup: 400, idleMs: 5000, reps: 3, replicas: [1, 2, 3] },
        soak: { durationMs: 600_000, warmupMs: 30_000, drainMs: 60_000, sampleMs: 1000, windowMs: 60_000, probeOrders: 3000, probeReps: 3 },
      };
  if (queueArg === 'quorum' || queueArg === 'classic') base.queueTypes = [queueArg];
  return { ...base, ...(only || queueArg ? { only: only ?? ['publish', 'relay', 'sweep', 'fleet', 'blocked', 'soak'] } : {}) };
}
