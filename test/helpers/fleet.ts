import { Redis } from 'ioredis';
import type { WarrenConfig } from '../../shared/config/config';
import type { Runtime } from '../../shared/lifecycle/runtime';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { startService } from '../../workers/services';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from './broker';
import { fleetPorts, startOrder } from './fleet-ports';
import { LogCapture } from './log-capture';

export interface TestFleet {
  config: WarrenConfig;
  vhost: string;
  /** Base URLs: the order API and each ops server. */
  urls: { api: string; ops: Record<ServiceName, string> };
  runtimes: Partial<Record<ServiceName, Runtime>>;
  logs: LogCapture;
  /** A Redis client on the fleet's Redis (keys are under `config.redisKeyPrefix`). */
  redis: Redis;
  start(name: ServiceName): Promise<Runtime>;
  stopService(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the services in this process against the real RabbitMQ and Redis, in a vhost and key prefix of their own,
 * on free ports; `stop()` drains them, deletes the vhost and every key under the prefix.
 */
export async function startTestFleet(
  env: Record<string, string> = {},
  services: readonly ServiceName[] = SERVICE_NAMES,
): Promise<TestFleet> {
  const { vhost, url } = await createVhost();
  const ports = await fleetPorts(SERVICE_DECLARATIONS);
  const config = loadFleetConfig({
    AMQP_URL: url,
    REDIS_URL,
    REDIS_KEY_PREFIX: `${uniqueName('t')}:`,
    ...ports.env,
    LOG_LEVEL: 'debug',
    RETRY_DELAYS_MS: '100,200,400',
    IDEMPOTENCY_LEASE_MS: '500',
    OUTBOX_RELAY_INTERVAL_MS: '100',
    PUBLISH_TIMEOUT_MS: '3000',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...env,
  });
  const logs = new LogCapture();
  const redis = new Redis(REDIS_URL);
  const runtimes: TestFleet['runtimes'] = {};
  const fleet: TestFleet = {
    config,
    vhost,
    urls: { api: ports.api, ops: ports.ops },
    runtimes,
    logs,
    redis,
    async start(name) {
      const runtime = await startService(name, config, { logDestination: logs });
      runtimes[name] = runtime;
      return runtime;
    },
    async stopService(name) {
      await runtimes[name]?.stop();
      delete runtimes[name];
    },
    async stop() {
      await Promise.all(Object.values(runtimes).map((r) => r.stop()));
      await deleteKeys(redis, config.redisKeyPrefix);
      await redis.quit();
      await deleteVhost(vhost);
    },
  };
  try {
    for (const name of startOrder(services)) await fleet.start(name);
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
