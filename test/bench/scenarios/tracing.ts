import type { QueueType } from '../../../shared/config/config';
import { loadConfig } from '../../../shared/config/config';
import { planTopology } from '../../../shared/messaging/topology';
import { startTracing, stopTracing } from '../../../shared/observability/tracing';
import { INVENTORY_QUEUE } from '../../../workers/inventory/service';
import type { BenchOptions } from '../lib/options';
import { OtlpSink } from '../lib/otlp-sink';
import { EXCHANGE } from '../lib/payload';
import { connectRaw, Sink } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope } from '../lib/scope';
import { median } from '../lib/stats';
import { benchConfig } from '../lib/warren';
import { inventoryWorker, OUTCOMES, prepare, RELAY_QUEUE, rawRelay, type Measured } from './relay';

type Variant = 'raw' | 'off' | 'on';

/**
 * What tracing costs (`--only=tracing`, not part of the full run): the relay scenario's raw relay and Warren
 * inventory worker, the worker once with tracing off and once exporting every span over OTLP to a local sink,
 * interleaved (the order turns each repetition) so that a busy machine weighs on all three alike. Each variant's
 * rate is divided by the raw relay's of the same repetition.
 */
export async function benchTracing(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const scope = await openScope(`tracing-${queueType}`);
  const raw = await connectRaw(scope.url, 'tracing');
  const otlp = await OtlpSink.start();
  try {
    const config = await benchConfig(scope, queueType);
    const tracing = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint }).tracing;
    const topology = await prepare(raw, scope, config);
    const sink = await Sink.open(raw, EXCHANGE, OUTCOMES);
    const setup = await raw.createChannel();
    await setup.assertQueue(RELAY_QUEUE, planTopology(topology).find((d) => d.name === INVENTORY_QUEUE)!.options);
    const { count, prefetch } = options.relay;
    const reps = options.quick ? 2 : 5;
    const measured: Record<Variant, Measured[]> = { raw: [], off: [], on: [] };
    const spansPerMessage: number[] = [];
    const run: Record<Variant, () => Promise<Measured>> = {
      raw: () => rawRelay(raw, sink, count, prefetch),
      off: () => inventoryWorker(raw, sink, config, count),
      on: async () => {
        await startTracing(tracing, 'inventory');
        try {
          return await inventoryWorker(raw, sink, config, count);
        } finally {
          // Flushes what is still buffered, and turns tracing off again for the next variant.
          await stopTracing();
          spansPerMessage.push(otlp.take().spans / count);
        }
      },
    };
    const order: Variant[] = ['raw', 'off', 'on'];
    for (let rep = -1; rep < reps; rep++) {
      // rep −1 warms up every variant (JIT, connections, scripts, the SDK's first load); not recorded.
      const turn = order.map((_, i) => order[(i + Math.max(rep, 0)) % order.length]!);
      for (const variant of turn) {
        const m = await run[variant]();
        if (rep >= 0) measured[variant].push(m);
      }
      if (rep < 0) spansPerMessage.length = 0;
    }
    const g = `tracing (${queueType})`;
    const rates = (v: Variant) => measured[v].map((m) => m.rate);
    const rawRow = results.row(`tracing.raw.${queueType}`, g, `raw relay (prefetch ${prefetch})`, 'msg/s', rates('raw'));
    const offRow = results.row(`tracing.off.${queueType}`, g, 'Warren inventory worker, tracing off', 'msg/s', rates('off'));
    const onRow = results.row(
      `tracing.on.${queueType}`,
      g,
      'Warren inventory worker, tracing on (OTLP to a local sink)',
      'msg/s',
      rates('on'),
    );
    results.ratio(`ratio.tracing.off.${queueType}`, `inventory worker, tracing off / raw relay (${queueType})`, offRow, rawRow);
    results.ratio(`ratio.tracing.on.${queueType}`, `inventory worker, tracing on / raw relay (${queueType})`, onRow, rawRow);
    results.ratio(`ratio.tracing.cost.${queueType}`, `tracing on / tracing off (${queueType})`, onRow, offRow);
    results.cpuCost(
      `cpu.tracing.off.${queueType}`,
      `Warren inventory worker, tracing off (${queueType})`,
      measured.off.map((m) => m.cpu),
    );
    results.cpuCost(
      `cpu.tracing.on.${queueType}`,
      `Warren inventory worker, tracing on (${queueType})`,
      measured.on.map((m) => m.cpu),
    );
    // Every delivery's spans reached the sink: a process span, its publish and its Redis calls (none dropped).
    const perMessage = median(spansPerMessage);
    results.check(
      `tracing.spans.${queueType}`,
      'every delivery exported its spans',
      spansPerMessage.every((n) => n >= 3),
      `${perMessage.toFixed(2)} spans per message (median of ${spansPerMessage.length} reps)`,
      { spansPerMessage },
    );
    await setup.close();
  } finally {
    await stopTracing();
    await otlp.close();
    await raw.close().catch(() => undefined);
    await scope.close();
  }
}
