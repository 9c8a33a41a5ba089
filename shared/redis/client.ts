import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';
import { labelled, type Metrics } from '../observability/metrics';

/**
 * A Redis client tuned for a message path: commands fail fast while Redis is away (so handlers fail transiently
 * and take a delayed retry, and the API answers 503) instead of queueing for ever; it reconnects on its own.
 */
export function createRedis(url: string, log: Logger, metrics: Metrics): Redis {
  const redis = new Redis(url, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout: 5000,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  });
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

/** Times one Redis operation on the message path and counts its failures. */
export async function timed<T>(metrics: Metrics, operation: string, run: () => Promise<T>): Promise<T> {
  const stop = labelled(metrics.redisSeconds)(operation).startTimer();
  try {
    return await run();
  } catch (error) {
    metrics.redisErrors.labels(operation).inc();
    throw error;
  } finally {
    stop();
  }
}
