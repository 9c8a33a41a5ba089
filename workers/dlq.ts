import { runDlqCli, type CliIo } from '../shared/cli/dlq';
import { fleetQueues } from './registry';

/** The DLQ tool over the fleet's queues (`npm run dlq -- list`; in a container `node dist/workers/dlq.js list`). */
export function runFleetDlqCli(argv: readonly string[], io?: CliIo): Promise<number> {
  return runDlqCli(argv, fleetQueues(), io);
}

if (require.main === module) {
  runFleetDlqCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`dlq: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
