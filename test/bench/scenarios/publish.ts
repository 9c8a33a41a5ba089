import { performance } from 'node:perf_hooks';
import type { QueueType } from '../../../shared/config/config';
import { PublishError } from '../../../shared/errors/errors';
import type { Publisher } from '../../../shared/messaging/publisher';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE, orderPlaced, rawKilobyte } from '../lib/payload';
import { connectRaw, declareQueue, publishPaced, publishPipelined, type PublishRun } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope } from '../lib/scope';
import { cpuPerMessage, cpuSnapshot } from '../lib/cpu';
import { profiled } from '../lib/profiler';
import { latency, steadyRate } from '../lib/stats';
import { benchConfig, warrenPublisher } from '../lib/warren';

const QUEUE = 'bench.publish';

/**
 * Item 1 and 2 for publishing: raw amqplib pipelined confirms vs Warren's Publisher, both ~1 KB persistent
 * messages to the events exchange and one bound queue of the given type, the same window in flight; then the
 * confirm latency of each at half the raw maximum rate.
 */
export async function benchPublish(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const scope = await openScope(`publish-${queueType}`);
  const raw = await connectRaw(scope.url, 'publish');
  const warren = await warrenPublisher(await benchConfig(scope, queueType));
  try {
    const ch = await raw.createConfirmChannel();
    await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
    await declareQueue(ch, QUEUE, queueType, EXCHANGE, ['order.placed']);
    const { count, window, reps } = options.publish;
    const runRaw = () => publishPipelined(ch, count, window, rawKilobyte);
    const runWarren = () => warrenPipelined(warren.publisher, count, window);
    await runRaw();
    await runWarren();
    await ch.purgeQueue(QUEUE);
    const rawRates: number[] = [];
    const warrenRates: number[] = [];
    const rawCpu: Record<string, number>[] = [];
    const warrenCpu: Record<string, number>[] = [];
    const measureRaw = async () => {
      const before = cpuSnapshot();
      rawRates.push(steadyRate((await runRaw()).confirmedAt));
      rawCpu.push(cpuPerMessage(before, cpuSnapshot(), count));
      await ch.purgeQueue(QUEUE);
    };
    const measureWarren = async () => {
      const before = cpuSnapshot();
      warrenRates.push(steadyRate((await profiled('warren-publisher', runWarren)).confirmedAt));
      warrenCpu.push(cpuPerMessage(before, cpuSnapshot(), count));
      await ch.purgeQueue(QUEUE);
    };
    // Raw first in even repetitions, Warren first in odd ones: whichever runs right after a purge (the quorum
    // queue still compacting its log) must not always be the same side.
    for (let rep = 0; rep < reps; rep++) {
      if (rep % 2 === 0) {
        await measureRaw();
        await measureWarren();
      } else {
        await measureWarren();
        await measureRaw();
      }
    }
    const g = `publish (${queueType})`;
    const rawRow = results.row(`publish.raw.${queueType}`, g, `raw amqplib, pipelined confirms, window ${window}`, 'msg/s', rawRates);
    const warrenRow = results.row(
      `publish.warren.${queueType}`,
      g,
      `Warren Publisher (createEvent + publishEvent), window ${window}`,
      'msg/s',
      warrenRates,
    );
    results.cpuCost(`cpu.publish.raw.${queueType}`, `raw pipelined publish (${queueType})`, rawCpu);
    results.cpuCost(`cpu.publish.warren.${queueType}`, `Warren Publisher (${queueType})`, warrenCpu);
    results.ratio(
      `ratio.publish.${queueType}`,
      `Warren publisher / raw pipelined publish (${queueType})`,
      warrenRow,
      rawRow,
      // Issue 15's target (was 0.8).
      queueType === options.defaultQueueType ? { kind: 'min', value: 0.9 } : undefined,
    );

    // Confirm latency, open loop at half the raw maximum: the time a caller waits for its confirm.
    const rate = Math.max(100, Math.round(rawRow.summary.median / 2));
    const durationMs = options.latency.publishMs;
    const rawLat = [];
    const warrenLat = [];
    let refused = 0;
    for (let rep = 0; rep < reps; rep++) {
      rawLat.push(latency((await publishPaced(ch, rate, durationMs, rawKilobyte)).latenciesMs));
      await ch.purgeQueue(QUEUE);
      const paced = await warrenPaced(warren.publisher, rate, durationMs);
      refused += paced.refused ?? 0;
      warrenLat.push(latency(paced.latenciesMs));
      await ch.purgeQueue(QUEUE);
    }
    const offered = reps * Math.floor((rate * durationMs) / 1000);
    results.check(
      `publish.paced.${queueType}`,
      `Warren publisher keeps up with ${rate}/s offered (${queueType})`,
      refused === 0,
      `${refused} of ${offered} publishes refused with buffer_full (the broker fell behind the offered rate)`,
    );
    results.latency(`latency.confirm.raw.${queueType}`, `publish confirm, raw amqplib (${queueType})`, rate, rawLat);
    results.latency(`latency.confirm.warren.${queueType}`, `publish confirm, Warren Publisher (${queueType})`, rate, warrenLat);
  } finally {
    await warren.close().catch(() => undefined);
    await raw.close().catch(() => undefined);
    await scope.close();
  }
}

/** `window` callers, each awaiting its confirm before publishing again: how a service's handlers use the Publisher. */
async function warrenPipelined(publisher: Publisher, count: number, window: number): Promise<PublishRun> {
  const run: PublishRun = { startedAt: performance.now(), confirmedAt: [], latenciesMs: [] };
  let next = 0;
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < count) {
        const event = orderPlaced(next++, 20);
        const sentAt = performance.now();
        await publisher.publishEvent(event);
        const now = performance.now();
        run.confirmedAt.push(now);
        run.latenciesMs.push(now - sentAt);
      }
    }),
  );
  return run;
}

async function warrenPaced(publisher: Publisher, ratePerSecond: number, durationMs: number): Promise<PublishRun> {
  const run: PublishRun = { startedAt: performance.now(), confirmedAt: [], latenciesMs: [], refused: 0 };
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = run.startedAt + (i * 1000) / ratePerSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const event = orderPlaced(i, 20);
    const sentAt = performance.now();
    pending.push(
      publisher.publishEvent(event).then(
        () => {
          const now = performance.now();
          run.confirmedAt.push(now);
          run.latenciesMs.push(now - sentAt);
        },
        (error: unknown) => {
          if (!(error instanceof PublishError && error.outcome === 'buffer_full')) throw error;
          run.refused! += 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  return run;
}
