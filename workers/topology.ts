import { exitWith } from '../shared/cli/tool';
import type { CliIo } from '../shared/cli/tool';
import { runTopologyCli, type TopologyCliContext } from '../shared/cli/topology';
import { loadBrokerConfig } from '../shared/config/config';
import { SERVICE_DECLARATIONS } from './registry';

/**
 * The fleet's topologies as the services declare them, under the broker settings in `env` (only those: the
 * operator's step runs with none of the services' secrets).
 */
export function fleetTopologies(env: Record<string, string | undefined>): TopologyCliContext {
  const config = loadBrokerConfig(env);
  return {
    amqpUrl: config.amqpUrl,
    ...(config.amqpTls ? { tls: config.amqpTls } : {}),
    services: SERVICE_DECLARATIONS.map((s) => ({
      service: s.name,
      topology: { exchange: config.eventsExchange, queues: s.consumes, retryDelaysMs: config.retryDelaysMs, queueType: config.queueType },
    })),
  };
}

/** `npm run topology -- plan | apply | migrate <queue>` over the fleet's queues, with the operator's AMQP_URL. */
export function runFleetTopologyCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runTopologyCli(argv, () => fleetTopologies(io.env), io);
}

function processIo(): CliIo {
  return { env: process.env, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
}

if (require.main === module) exitWith('topology', runFleetTopologyCli(process.argv.slice(2)));
