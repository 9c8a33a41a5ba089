import { loadConfig } from '../../../shared/config/config';
import { PublishError } from '../../../shared/errors/errors';
import { orderPlaced } from '../lib/payload';
import { warrenPublisher } from '../lib/warren';

/**
 * A Warren Publisher offering ~1 KB events at a steady rate, whatever the broker does, and reporting its memory,
 * its buffer and the outcomes of its publishes every 250 ms over IPC. Run by the blocked-broker scenario.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const rate = Number(process.env['BENCH_RATE'] ?? 2000);
  const { publisher, close } = await warrenPublisher(config);
  const outcomes: Record<string, number> = { confirmed: 0 };
  let offered = 0;
  const startedAt = Date.now();
  const tick = setInterval(() => {
    const due = Math.floor(((Date.now() - startedAt) * rate) / 1000);
    while (offered < due) {
      const event = orderPlaced(offered++, 20);
      publisher.publishEvent(event).then(
        () => outcomes['confirmed']!++,
        (error: unknown) => {
          const key = error instanceof PublishError ? error.outcome : 'error';
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        },
      );
    }
  }, 10);
  const report = setInterval(() => {
    const m = process.memoryUsage();
    process.send?.({
      t: Date.now(),
      rssMb: m.rss / 2 ** 20,
      heapMb: m.heapUsed / 2 ** 20,
      pending: publisher.depth,
      offered,
      outcomes: { ...outcomes },
    });
  }, 250);
  // Asked at the end: the heap after a full collection tells retained memory from garbage not yet collected.
  process.on('message', (m) => {
    if (m !== 'gc') return;
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    process.send?.({
      t: Date.now(),
      rssMb: mem.rss / 2 ** 20,
      heapMb: mem.heapUsed / 2 ** 20,
      pending: publisher.depth,
      offered,
      outcomes: { ...outcomes },
      afterGc: true,
    });
  });
  // The harness is gone (even killed outright): so is the reason to run.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => {
    clearInterval(tick);
    clearInterval(report);
    close()
      .finally(() => process.exit(0))
      .catch(() => process.exit(1));
  });
  process.send?.('ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`blocked-publisher: ${(error as Error).message}\n`);
  process.exit(1);
});
