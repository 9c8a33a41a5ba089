import { cleanEnv, str } from 'envalid';
import { isProduction } from './auth-config';
import { ConfigError } from './config-error';
import { refusePublishedPasswords, throwOneLine, type Env } from './env-checks';
import { withFileSecrets } from './secret-files';
import { readTlsFiles, type TlsFiles } from './tls-files';
import { amqpUrlList, delayList } from './validators';

export type QueueType = 'quorum' | 'classic';

/** What a tool that only talks to the broker needs: the topology's settings and how to reach the broker (as WarrenConfig). */
export interface BrokerConfig {
  amqpUrl: string;
  amqpUrls: string[];
  amqpTls?: TlsFiles;
  eventsExchange: string;
  retryDelaysMs: number[];
  queueType: QueueType;
}

/**
 * The broker settings alone, validated as `loadConfig` validates them: for the operator's topology step, which
 * runs with the operator's AMQP_URL and none of a service's secrets (OPS_TOKEN, the auth settings).
 */
export function loadBrokerConfig(fromEnv: Env = process.env): BrokerConfig {
  const env = withFileSecrets(fromEnv);
  const e = cleanEnv(
    env,
    {
      AMQP_URL: amqpUrlList({ default: ['amqp://guest:guest@127.0.0.1:5672'] }),
      EVENTS_EXCHANGE: str({ default: 'warren.events' }),
      RETRY_DELAYS_MS: delayList({ default: [1000, 5000, 30000] }),
      QUEUE_TYPE: str({ default: 'quorum', choices: ['quorum', 'classic'] }),
    },
    { reporter: throwOneLine },
  );
  if (isProduction(env)) refusePublishedPasswords({ AMQP_URL: e.AMQP_URL });
  const amqpTls = readTlsFiles(
    env,
    'AMQP',
    e.AMQP_URL.every((url) => url.startsWith('amqps:')),
    (message) => {
      throw new ConfigError(`Invalid configuration: ${message}`);
    },
  );
  return {
    amqpUrl: e.AMQP_URL[0]!,
    amqpUrls: e.AMQP_URL,
    ...(amqpTls ? { amqpTls } : {}),
    eventsExchange: e.EVENTS_EXCHANGE,
    retryDelaysMs: e.RETRY_DELAYS_MS,
    queueType: e.QUEUE_TYPE as QueueType,
  };
}
