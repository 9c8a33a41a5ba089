import type { QueueType } from '../../../shared/config/config';
import { startService } from '../../../workers/services';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE } from '../lib/payload';
import { connectRaw, sleep, Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope } from '../lib/scope';
import { benchConfig, devNull } from '../lib/warren';
import { INVENTORY_QUEUE } from '../../../workers/inventory/service';
import { prepare, preload } from './relay';

/**
 * The PREFETCH sweep: Warren's inventory worker (everything on) on a standing backlog of `OrderPlaced`, once per
 * prefetch value and repetition, each for a fixed window after its first outcome; the backlog is topped up
 * between runs so that no run ever drains it.
 */
export async function benchPrefetchSweep(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const scope = await openScope(`sweep-${queueType}`);
  const raw = await connectRaw(scope.url, 'sweep');
  try {
    const base = await benchConfig(scope, queueType);
    await prepare(raw, scope, base);
    const sink = await Sink.open(raw, EXCHANGE, ['inventory.reserved', 'inventory.rejected']);
    const ch = await raw.createChannel();
    const { prefetches, reps, windowMs, preload: backlog } = options.sweep;
    const rates = new Map<number, number[]>(prefetches.map((p) => [p, []]));
    for (let rep = -1; rep < reps; rep++) {
      for (const prefetch of rep < 0 ? [100] : prefetches) {
        const { messageCount } = await ch.checkQueue(INVENTORY_QUEUE);
        if (messageCount < backlog) await preload(raw, backlog - messageCount);
        sink.reset();
        const runtime = await startService('inventory', { ...base, prefetch }, { logDestination: devNull() });
        try {
          await sink.waitFor(1, 30_000);
          await sleep(windowMs + 400);
        } finally {
          await runtime.stop();
        }
        const from = sink.arrivals[0]! + 300;
        const counted = sink.arrivals.filter((t) => t >= from && t < from + windowMs).length;
        if (rep >= 0) rates.get(prefetch)!.push((counted * 1000) / windowMs);
      }
    }
    const g = `PREFETCH sweep, inventory worker (${queueType})`;
    for (const p of prefetches) results.row(`sweep.prefetch.${p}.${queueType}`, g, `PREFETCH ${p}`, 'msg/s', rates.get(p)!);
    await ch.close();
    await sink.close();
  } finally {
    await raw.close().catch(() => undefined);
    await scope.close();
  }
}
