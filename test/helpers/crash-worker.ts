/**
 * A consumer that dies on one message: a Warren Runtime consuming one queue with the real Consumer and topology,
 * whose handler calls `process.exit(1)` when it gets the order named by CRASH_ON_ORDER_ID (a worker killed by a
 * poison message: it never reaches the consumer's retry path, so only the broker's delivery limit can stop it).
 * Test-only; run as `node --import tsx test/helpers/crash-worker.ts` with Warren's variables plus CRASH_QUEUE,
 * CRASH_BINDING and CRASH_ON_ORDER_ID. Prints one JSON line per event on standard output; logs go to stderr.
 */
import pino from 'pino';
import { loadConfig } from '../../shared/config/config';
import { Runtime } from '../../shared/lifecycle/runtime';
import { stopOnSignals } from '../../shared/lifecycle/signals';
// Registers the fleet's events (each service's events.ts), which decoding an OrderPlaced needs.
import '../../workers/registry';

export type CrashWorkerLine = { ready: true } | { processed: string; redelivered: boolean } | { crashing: string; deliveryCount: number };

const say = (line: CrashWorkerLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main(): Promise<void> {
  const queue = process.env['CRASH_QUEUE']!;
  const crashOn = process.env['CRASH_ON_ORDER_ID']!;
  const config = loadConfig();
  const runtime = new Runtime(config, {
    service: 'crash-worker',
    queues: [{ name: queue, bindings: [process.env['CRASH_BINDING']!] }],
    opsPort: 0,
    logDestination: pino.destination({ dest: 2, sync: true }),
  });
  runtime.consume(
    queue,
    {
      OrderPlaced: async (ctx) => {
        if (ctx.event.orderId === crashOn) {
          say({ crashing: crashOn, deliveryCount: ctx.deliveryCount });
          process.exit(1);
        }
        say({ processed: ctx.event.orderId, redelivered: ctx.redelivered });
      },
    },
    { middleware: [] },
  );
  await runtime.start();
  say({ ready: true });
  stopOnSignals(
    () => runtime.stop(),
    () => undefined,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-worker start-up failed: ${(error as Error).message}\n`);
  process.exit(2);
});
