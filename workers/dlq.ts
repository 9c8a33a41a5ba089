import { exitWith } from '../shared/cli/tool';
import { runDlqCli } from '../shared/cli/dlq';
import type { CliIo } from '../shared/cli/tool';
import { fleetQueues } from './registry';

/** The DLQ tool over the fleet's queues (`npm run dlq -- list`; in a container `node dist/workers/dlq.js list`). */
export function runFleetDlqCli(argv: readonly string[], io?: CliIo): Promise<number> {
  return runDlqCli(argv, fleetQueues(), io);
}

if (require.main === module) exitWith('dlq', runFleetDlqCli(process.argv.slice(2)));
