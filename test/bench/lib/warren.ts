import pino from 'pino';
import type { QueueType, WarrenConfig } from '../../../shared/config/config';
import { loadFleetConfig, SERVICE_DECLARATIONS } from '../../../workers/registry';
import { fleetPorts } from '../../helpers/fleet-ports';
import { connect } from '../../../shared/messaging/connection';
import { Publisher } from '../../../shared/messaging/publisher';
import { createLogger } from '../../../shared/observability/logger';
import { createMetrics } from '../../../shared/observability/metrics';
import type { BenchScope } from './scope';
import { EXCHANGE } from './payload';

/** Log lines are formatted as in production, then dropped: the cost stays, the noise goes. */
export const devNull = (): pino.DestinationStream => pino.destination({ dest: '/dev/null', sync: false });

/** Warren's own configuration for a benchmark: production defaults, except the scope's vhost, key prefix and ports. */
export async function benchConfig(scope: BenchScope, queueType: QueueType, env: Record<string, string> = {}): Promise<WarrenConfig> {
  return loadFleetConfig({
    AMQP_URL: scope.url,
    REDIS_URL: scope.redisUrl,
    REDIS_KEY_PREFIX: scope.prefix,
    EVENTS_EXCHANGE: EXCHANGE,
    QUEUE_TYPE: queueType,
    ...(await fleetPorts(SERVICE_DECLARATIONS)).env,
    ...env,
  });
}

/** Warren's Publisher on its own managed connection, as a service's runtime builds it. */
export async function warrenPublisher(config: WarrenConfig): Promise<{ publisher: Publisher; close(): Promise<void> }> {
  const log = createLogger({ service: 'bench', level: config.logLevel, destination: devNull() });
  const metrics = createMetrics('bench');
  const connection = connect(config.amqpUrl, 'publish', 'bench', log, metrics);
  const publisher = new Publisher(connection, {
    exchange: config.eventsExchange,
    topology: { exchange: config.eventsExchange, queues: [], retryDelaysMs: config.retryDelaysMs, queueType: config.queueType },
    timeoutMs: config.publishTimeoutMs,
    bufferLimit: config.publishBufferLimit,
    bufferBytes: config.publishBufferBytes,
    appId: 'bench',
    log,
    metrics,
  });
  await publisher.ready();
  return {
    publisher,
    async close() {
      await publisher.close(5000);
      await connection.close();
    },
  };
}
