import { cleanEnv } from 'envalid';
import { parsePriceList, type PriceList } from '../money/price-list';
import { isProduction, readAuthConfig, type AuthConfig } from './auth-config';
import { ConfigError } from './config-error';
import { refusePublishedPasswords, throwOneLine, type Env } from './env-checks';
import { tokenKeyList, type TokenKeyring } from '../security/token-keys';
import { withFileSecrets } from './secret-files';
import { readTlsFiles, type TlsFiles } from './tls-files';
import { readTracingConfig, type TracingConfig } from './tracing-config';
import { DEFAULT_PUBLISH_BUFFER_BYTES, FLEET_SETTINGS } from './fleet-settings';
import { tcpPort } from './validators';
import { readSettings } from './settings';
import { portVariables, type ServicePorts } from './variables';
import type { QueueType } from './broker-config';

/** A consumer's kill switch (shared/messaging/kill-switch.ts): from `KILL_SWITCH_*`, or a queue's declaration. */
export interface KillSwitchSettings {
  /** Consecutive transient failures that pause the consumer; 0 turns the switch off. @defaultValue 0 */
  threshold: number;
  /** The failures must all fall within this window. @defaultValue 60000 */
  windowMs: number;
  /** How long a pause lasts before a single delivery probes the downstream. @defaultValue 15000 */
  cooldownMs: number;
}

export { ConfigError };
export { DEFAULT_PUBLISH_BUFFER_BYTES };
export { loadBrokerConfig, type BrokerConfig, type QueueType } from './broker-config';
export { CONFIG_VARIABLES, configVariables, SECRET_VARIABLES, type SecretVariable, type ServicePorts } from './variables';
export type { SettingsOf, SettingsSpec } from './settings';

/** Warren's whole configuration, read from the environment once, at start-up, and passed down explicitly. */
export interface WarrenConfig {
  /** `AMQP_URL` (its first URL when it lists several) @defaultValue `amqp://guest:guest@127.0.0.1:5672` */
  amqpUrl: string;
  /**
   * `AMQP_URL` split at commas: the nodes of one cluster, tried in turn on every (re)connect; all name one vhost.
   * @defaultValue `[amqp://guest:guest@127.0.0.1:5672]`
   */
  amqpUrls: string[];
  /** `REDIS_URL`; under Sentinel only its credentials, database and TLS (`rediss:`) count. @defaultValue `redis://127.0.0.1:6379` */
  redisUrl: string;
  /**
   * `REDIS_SENTINELS` (`host:port,...`) and `REDIS_SENTINEL_NAME` (the master's name): ask these sentinels where
   * the master is, and wait for a replica to hold every effect's write before it counts (docs/design.md).
   * @defaultValue none: REDIS_URL names Redis itself
   */
  redisSentinel?: RedisSentinelConfig;
  /** `REDIS_KEY_PREFIX`: every key the fleet writes starts with it. @defaultValue `warren:` */
  redisKeyPrefix: string;
  /** `EVENTS_EXCHANGE`: the durable topic exchange. @defaultValue `warren.events` */
  eventsExchange: string;
  /**
   * Each service's ops port, by service name, from the variable its declaration names (`ORDER_OPS_PORT`, ...).
   * @defaultValue the declaration's default: order 9101, inventory 9102, payment 9103
   */
  opsPorts: Readonly<Record<string, number>>;
  /** The public API port of each service that declares one (`ORDER_HTTP_PORT`). @defaultValue order 3000 */
  apiPorts: Readonly<Record<string, number>>;
  /** `LOG_LEVEL` @defaultValue `info` */
  logLevel: string;
  /** `PREFETCH`: unacked deliveries per consumer. @defaultValue 100 (see BENCHMARKS.md) */
  prefetch: number;
  /** `RETRY_DELAYS_MS`: one delayed-retry tier per entry; attempts = tiers + 1. @defaultValue `1000,5000,30000` */
  retryDelaysMs: number[];
  /** `QUEUE_TYPE` @defaultValue `quorum` */
  queueType: QueueType;
  /** `PUBLISH_TIMEOUT_MS`: how long a publish waits for the broker's confirm. @defaultValue 10000 */
  publishTimeoutMs: number;
  /** `PUBLISH_BUFFER_LIMIT`: publishes awaiting a confirm (or a connection) before callers get an error. @defaultValue 10000 */
  publishBufferLimit: number;
  /** `PUBLISH_BUFFER_BYTES`: bytes of message bodies awaiting a confirm (or a connection) before callers get an error. @defaultValue 67108864 (64 MiB) */
  publishBufferBytes: number;
  /** `SHUTDOWN_TIMEOUT_MS`: how long SIGTERM waits for in-flight handlers. @defaultValue 15000 */
  shutdownTimeoutMs: number;
  /** `HANDLER_TIMEOUT_MS`: a handler still running then fails transiently. @defaultValue 30000 */
  handlerTimeoutMs: number;
  /**
   * `IDEMPOTENCY_LEASE_MS`: a claim's lease, renewed while its handler runs (up to `HANDLER_TIMEOUT_MS`): how long a
   * crashed worker's claim holds copies of its event off. @defaultValue 10000
   */
  idempotencyLeaseMs: number;
  /** `IDEMPOTENCY_RETENTION_MS`: how long a done marker lasts; longer than the whole retry horizon. @defaultValue 7 days */
  idempotencyRetentionMs: number;
  /**
   * `CONSUMER_RECOVERY_DEADLINE_MS`: how long a consumer may fail to subscribe again (after a broker cancel or a
   * closed channel, with the broker reachable) before `/healthz` answers 503 so that the process is restarted.
   * @defaultValue 60000
   */
  consumerRecoveryDeadlineMs: number;
  /**
   * `KILL_SWITCH_THRESHOLD`, `KILL_SWITCH_WINDOW_MS`, `KILL_SWITCH_COOLDOWN_MS`: a consumer pauses after this many
   * consecutive transient failures within the window, and probes with one message after the cool-down. A queue's
   * declaration may override them. @defaultValue threshold 0 (off), window 60000, cool-down 15000
   */
  killSwitch: KillSwitchSettings;
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` and the other `OTEL_*` variables (shared/config/tracing-config.ts). @defaultValue none: tracing off */
  tracing?: TracingConfig;
  /** `AUTH_MODE` and its settings (shared/config/auth-config.ts). @defaultValue `off`, but required when NODE_ENV=production */
  auth: AuthConfig;
  /** `OPS_HOST`: the interface the ops servers bind to (e.g. a pod's cluster-internal address). @defaultValue `0.0.0.0` */
  opsHost: string;
  /** `API_HOST`: the interface a service's public API (the order API) binds to. @defaultValue `0.0.0.0` */
  apiHost: string;
  /** `HTTP_REQUEST_TIMEOUT_MS`: a request whose headers and body have not arrived by then is cut with 408. @defaultValue 10000 */
  httpRequestTimeoutMs: number;
  /**
   * `PRICE_LIST`: JSON unit prices per product and currency, the price authority every order's total is checked
   * against (shared/money/price-list.ts). @defaultValue none (`off`): totals unchecked; required when NODE_ENV=production
   */
  priceList?: PriceList;
  /**
   * `AMQP_TLS_CA_FILE`, `AMQP_TLS_CERT_FILE`, `AMQP_TLS_KEY_FILE` (with an `amqps://` AMQP_URL): the CA the broker's
   * certificate must chain to, and the client certificate and key, read at start-up. @defaultValue none
   */
  amqpTls?: TlsFiles;
  /** `REDIS_TLS_CA_FILE`, `REDIS_TLS_CERT_FILE`, `REDIS_TLS_KEY_FILE` (with a `rediss://` REDIS_URL), likewise. @defaultValue none */
  redisTls?: TlsFiles;
  /**
   * `PAYMENT_TOKEN_KEYS`: `kid:base64key,...`, AES-256 keys that seal payment tokens on the bus; the first seals,
   * all open. Only the services that declare it get it (order, payment). @defaultValue none (see requireTokenKeys)
   */
  paymentTokenKeys?: TokenKeyring;
  /**
   * Each service's own settings, by service name (its declaration's `settings`: ORDER_TIMEOUT_MS for order, ...),
   * validated here with the rest; a service's `wire` receives its own only. @defaultValue each validator's default
   */
  settings: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** `NODE_ENV=production` (the image sets it): missing secrets stop start-up instead of falling back to dev ones. */
  production: boolean;
}

export interface RedisSentinelConfig {
  sentinels: { host: string; port: number }[];
  name: string;
}

/**
 * Reads and validates the environment; throws {@link ConfigError} naming the first bad variable. The port
 * variables are those the given services declare (workers/registry.ts passes the fleet's).
 */
export function loadConfig(fromEnv: Env = process.env, services: readonly ServicePorts[] = []): WarrenConfig {
  const env = withFileSecrets(fromEnv);
  const ports = portVariables(services);
  const read = cleanEnv(env, Object.fromEntries(ports.map((p) => [p.env, tcpPort({ default: p.default })])), {
    reporter: throwOneLine,
  }) as Record<string, number>;
  const e = cleanEnv(
    env,
    {
      ...FLEET_SETTINGS,
      PAYMENT_TOKEN_KEYS: tokenKeyList({ default: undefined }),
    },
    { reporter: throwOneLine },
  );
  const retryHorizonMs = e.RETRY_DELAYS_MS.reduce((sum, d) => sum + d, 0) + e.IDEMPOTENCY_LEASE_MS;
  if (e.IDEMPOTENCY_RETENTION_MS <= retryHorizonMs) {
    throw new ConfigError(
      `Invalid configuration: IDEMPOTENCY_RETENTION_MS: must be longer than the retry horizon (${retryHorizonMs} ms: RETRY_DELAYS_MS plus IDEMPOTENCY_LEASE_MS)`,
    );
  }
  const redisSentinel = sentinelOf(e.REDIS_SENTINELS, e.REDIS_SENTINEL_NAME);
  const tracing = readTracingConfig(env, (message) => {
    throw new ConfigError(`Invalid configuration: ${message}`);
  });
  const auth = readAuthConfig(env);
  const priceList = readPriceList(env);
  if (isProduction(env)) refusePublishedPasswords({ AMQP_URL: e.AMQP_URL, REDIS_URL: [e.REDIS_URL] });
  const fail = (message: string): never => {
    throw new ConfigError(`Invalid configuration: ${message}`);
  };
  const amqpTls = readTlsFiles(
    env,
    'AMQP',
    e.AMQP_URL.every((url) => url.startsWith('amqps:')),
    fail,
  );
  const redisTls = readTlsFiles(env, 'REDIS', e.REDIS_URL.startsWith('rediss:'), fail);
  return {
    amqpUrl: e.AMQP_URL[0]!,
    amqpUrls: e.AMQP_URL,
    redisUrl: e.REDIS_URL,
    ...(redisSentinel ? { redisSentinel } : {}),
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    eventsExchange: e.EVENTS_EXCHANGE,
    opsPorts: Object.fromEntries(ports.filter((p) => p.kind === 'ops').map((p) => [p.service, read[p.env]!])),
    apiPorts: Object.fromEntries(ports.filter((p) => p.kind === 'api').map((p) => [p.service, read[p.env]!])),
    logLevel: e.LOG_LEVEL,
    prefetch: e.PREFETCH,
    retryDelaysMs: e.RETRY_DELAYS_MS,
    queueType: e.QUEUE_TYPE as QueueType,
    publishTimeoutMs: e.PUBLISH_TIMEOUT_MS,
    publishBufferLimit: e.PUBLISH_BUFFER_LIMIT,
    publishBufferBytes: e.PUBLISH_BUFFER_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    handlerTimeoutMs: e.HANDLER_TIMEOUT_MS,
    idempotencyLeaseMs: e.IDEMPOTENCY_LEASE_MS,
    idempotencyRetentionMs: e.IDEMPOTENCY_RETENTION_MS,
    consumerRecoveryDeadlineMs: e.CONSUMER_RECOVERY_DEADLINE_MS,
    killSwitch: { threshold: e.KILL_SWITCH_THRESHOLD, windowMs: e.KILL_SWITCH_WINDOW_MS, cooldownMs: e.KILL_SWITCH_COOLDOWN_MS },
    ...(tracing ? { tracing } : {}),
    auth,
    opsHost: e.OPS_HOST,
    apiHost: e.API_HOST,
    httpRequestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    ...(priceList ? { priceList } : {}),
    ...(amqpTls ? { amqpTls } : {}),
    ...(redisTls ? { redisTls } : {}),
    ...(e.PAYMENT_TOKEN_KEYS ? { paymentTokenKeys: e.PAYMENT_TOKEN_KEYS } : {}),
    settings: readSettings(env, services),
    production: env['NODE_ENV'] === 'production',
  };
}

/** `PRICE_LIST`: unset or `off` leaves totals unchecked, which production must choose explicitly. */
function readPriceList(env: Env): PriceList | undefined {
  const raw = env['PRICE_LIST']?.trim() ?? '';
  if (raw === 'off') return undefined;
  if (raw === '') {
    if (env['NODE_ENV'] !== 'production') return undefined;
    throw new ConfigError(
      'Invalid configuration: PRICE_LIST: required when NODE_ENV=production: JSON unit prices per product and currency, or off to take totals as clients send them',
    );
  }
  try {
    return parsePriceList(raw);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: PRICE_LIST: ${(error as Error).message}`);
  }
}

/** Sentinel needs both variables; one without the other is a mistake, named. */
function sentinelOf(sentinels: RedisSentinelConfig['sentinels'], name: string): RedisSentinelConfig | undefined {
  if (sentinels.length === 0 && name === '') return undefined;
  if (name === '')
    throw new ConfigError(
      'Invalid configuration: REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master name the sentinels monitor)',
    );
  if (sentinels.length === 0)
    throw new ConfigError('Invalid configuration: REDIS_SENTINELS: required with REDIS_SENTINEL_NAME (host:port of each sentinel)');
  return { sentinels, name };
}
