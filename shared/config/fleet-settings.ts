import { str } from 'envalid';
import { amqpUrlList, delayList, hostPortList, nonNegativeInt, positiveInt, redisUrl } from './validators';

/** `PUBLISH_BUFFER_BYTES` when unset: 64 MiB. Also the DLQ tool's bound, which takes no environment of its own for it. */
export const DEFAULT_PUBLISH_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * The variables every service reads, as one table: each one's validator and default, in the order they are read.
 * The loader validates it (config.ts), CONFIG_VARIABLES lists it (variables.ts), and the docs test checks README's
 * configuration table against its defaults. Tracing, authentication and TLS have tables of their own beside their
 * readers; a service's own knobs are in its declaration (`settings`).
 */
export const FLEET_SETTINGS = {
  AMQP_URL: amqpUrlList({ default: ['amqp://guest:guest@127.0.0.1:5672'] }),
  REDIS_URL: redisUrl({ default: 'redis://127.0.0.1:6379' }),
  REDIS_SENTINELS: hostPortList({ default: [] }),
  REDIS_SENTINEL_NAME: str({ default: '' }),
  REDIS_KEY_PREFIX: str({ default: 'warren:' }),
  EVENTS_EXCHANGE: str({ default: 'warren.events' }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  PREFETCH: positiveInt({ default: 100 }),
  RETRY_DELAYS_MS: delayList({ default: [1000, 5000, 30000] }),
  QUEUE_TYPE: str({ default: 'quorum', choices: ['quorum', 'classic'] }),
  PUBLISH_TIMEOUT_MS: positiveInt({ default: 10000 }),
  PUBLISH_BUFFER_LIMIT: positiveInt({ default: 10000 }),
  PUBLISH_BUFFER_BYTES: positiveInt({ default: DEFAULT_PUBLISH_BUFFER_BYTES }),
  SHUTDOWN_TIMEOUT_MS: positiveInt({ default: 15000 }),
  HANDLER_TIMEOUT_MS: positiveInt({ default: 30000 }),
  IDEMPOTENCY_LEASE_MS: positiveInt({ default: 10000 }),
  IDEMPOTENCY_RETENTION_MS: positiveInt({ default: 7 * 24 * 3600 * 1000 }),
  CONSUMER_RECOVERY_DEADLINE_MS: positiveInt({ default: 60000 }),
  KILL_SWITCH_THRESHOLD: nonNegativeInt({ default: 0 }),
  KILL_SWITCH_WINDOW_MS: positiveInt({ default: 60000 }),
  KILL_SWITCH_COOLDOWN_MS: positiveInt({ default: 15000 }),
  OPS_HOST: str({ default: '0.0.0.0' }),
  API_HOST: str({ default: '0.0.0.0' }),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt({ default: 10000 }),
};
