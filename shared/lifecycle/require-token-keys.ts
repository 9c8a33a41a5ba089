import { ConfigError, type WarrenConfig } from '../config/config';
import type { Logger } from '../observability/logger';
import { DEV_TOKEN_KEYRING, type TokenKeyring } from '../security/token-keys';

/** The compose files' PAYMENT_TOKEN_KEYS without a .env (written there by deploy/generate/compose-files.ts). */
export const COMPOSE_FALLBACK_TOKEN_KEYS = 'dev-compose:d2FycmVuLWNvbXBvc2UtZGV2LW9ubHkta2V5LTAwMDE=';

/** Keys anyone can read in this repository: the dev keyring's, and the compose files' fallback. */
const PUBLISHED_KEYS: readonly Buffer[] = [
  ...DEV_TOKEN_KEYRING.byKid.values(),
  Buffer.from(COMPOSE_FALLBACK_TOKEN_KEYS.split(':')[1]!, 'base64'),
];

/**
 * The payment-token keyring of a service that seals or opens tokens. Production (the image sets NODE_ENV) refuses
 * to start without PAYMENT_TOKEN_KEYS; a laptop fleet runs on the published dev key and says so at start-up.
 */
export function requireTokenKeys(config: Pick<WarrenConfig, 'paymentTokenKeys' | 'production'>, log: Logger): TokenKeyring {
  if (config.paymentTokenKeys) {
    const published = [...config.paymentTokenKeys.byKid].find(([, key]) => PUBLISHED_KEYS.some((p) => p.equals(key)));
    if (config.production && published)
      throw new ConfigError(
        `Invalid configuration: PAYMENT_TOKEN_KEYS: key ${published[0]} is a published development key (compose's fallback, the dev keyring): make your own with openssl rand -base64 32`,
      );
    return config.paymentTokenKeys;
  }
  if (config.production)
    throw new ConfigError(
      'Invalid configuration: PAYMENT_TOKEN_KEYS: required in production (kid:base64key,..., each key `openssl rand -base64 32`)',
    );
  log.warn('PAYMENT_TOKEN_KEYS is unset: payment tokens are sealed with the published dev key, which protects nothing');
  return DEV_TOKEN_KEYRING;
}
