import { performance } from 'node:perf_hooks';
import { Redis, type RedisOptions } from 'ioredis';
import type { WarrenConfig } from '../config/config';
import type { Logger } from '../observability/logger';
import { labelled, type Metrics } from '../observability/metrics';
import { tracer } from '../observability/tracing';
import { traceRedis } from '../observability/tracing-redis';
import { requireReplicaAck } from './replica-ack';

/**
 * Where Redis is: REDIS_URL alone, or the sentinels that know the master (credentials still from REDIS_URL); with
 * a `rediss://` URL, the CA and client certificate of REDIS_TLS_* (data nodes and sentinels alike).
 */
export type RedisTarget = Pick<WarrenConfig, 'redisUrl' | 'redisSentinel' | 'redisTls'>;

const COMMAND_TIMEOUT_MS = 5000;
/** How long a write may wait for a replica under Sentinel; well below the command timeout, so WAIT itself never times out. */
export const REPLICA_ACK_TIMEOUT_MS = 2000;

/**
 * A Redis client tuned for a message path: commands fail fast while Redis is away (so handlers fail transiently
 * and take a delayed retry, and the API answers 503) instead of queueing for ever; it reconnects on its own.
 * Under Sentinel it follows the master through a failover, and every effect's write waits for one replica.
 */
export function createRedis(target: string | RedisTarget, log: Logger, metrics: Metrics): Redis {
  const { redisUrl, redisSentinel, redisTls } = typeof target === 'string' ? { redisUrl: target } : target;
  const common: RedisOptions = {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const redis = redisSentinel
    ? new Redis({ ...common, ...sentinelOptions(redisUrl, redisSentinel, redisTls) })
    : new Redis(redisUrl, { ...common, ...(redisUrl.startsWith('rediss:') ? { tls: { ...redisTls } } : {}) });
  if (redisSentinel) requireReplicaAck(redis, { replicas: 1, timeoutMs: REPLICA_ACK_TIMEOUT_MS });
  let wasReady = false;
  redis.on('ready', () => {
    wasReady = true;
    log.info('redis ready');
  });
  redis.on('error', (err: Error) => {
    metrics.redisErrors.labels('connection').inc();
    if (wasReady) log.warn({ err: err.message }, 'redis error');
  });
  redis.on('end', () => log.info('redis connection closed'));
  return redis;
}

/** Times one Redis operation on the message path and counts its failures; with tracing on, a span too. */
export function timed<T>(metrics: Metrics, operation: string, run: () => Promise<T>): Promise<T> {
  return tracer ? traceRedis(tracer, operation, () => measured(metrics, operation, run)) : measured(metrics, operation, run);
}

function measured<T>(metrics: Metrics, operation: string, run: () => Promise<T>): Promise<T> {
  // One `.then`, not an async frame; performance.now(), not prom-client's startTimer closure and its hrtime pair.
  const started = performance.now();
  const seconds = labelled(metrics.redisSeconds)(operation);
  return run().then(
    (result) => {
      seconds.observe((performance.now() - started) / 1000);
      return result;
    },
    (error: unknown) => {
      seconds.observe((performance.now() - started) / 1000);
      labelled(metrics.redisErrors)(operation).inc();
      throw error;
    },
  );
}

/**
 * ioredis' Sentinel options from REDIS_URL's credentials, database and TLS; its host is not used. The sentinels are
 * asked with the same password (run them with `requirepass` equal to the data nodes').
 */
export function sentinelOptions(
  redisUrl: string,
  sentinel: NonNullable<RedisTarget['redisSentinel']>,
  tlsFiles: RedisTarget['redisTls'] = {},
): RedisOptions {
  const url = new URL(redisUrl);
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const db = Number(url.pathname.replace(/^\//, '') || 0);
  const tls = url.protocol === 'rediss:';
  return {
    sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: sentinel.name,
    role: 'master',
    // No failoverDetector: its disconnect on +switch-master can land inside a reconnect still asking the sentinels,
    // and ioredis then ends the client for good ("Connection is closed", measured in test/cluster). Without it the
    // client finds the new master on its next reconnect, a few hundred ms after the sentinels promote it.
    sentinelRetryStrategy: (times) => Math.min(times * 200, 2000),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(password ? { password, sentinelPassword: password } : {}),
    ...(db ? { db } : {}),
    ...(tls ? { tls: { ...tlsFiles }, sentinelTLS: { ...tlsFiles }, enableTLSForSentinelMode: true } : {}),
  };
}
