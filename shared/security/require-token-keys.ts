import { ConfigError, type WarrenConfig } from '../config/config';
import type { Logger } from '../observability/logger';
import { DEV_TOKEN_KEYRING, type TokenKeyring } from './token-keys';

/**
 * The payment-token keyring of a service that seals or opens tokens. Production (the image sets NODE_ENV) refuses
 * to start without PAYMENT_TOKEN_KEYS; a laptop fleet runs on the published dev key and says so at start-up.
 */
export function requireTokenKeys(config: Pick<WarrenConfig, 'paymentTokenKeys' | 'production'>, log: Logger): TokenKeyring {
  if (config.paymentTokenKeys) return config.paymentTokenKeys;
  if (config.production)
    throw new ConfigError(
      'Invalid configuration: PAYMENT_TOKEN_KEYS: required in production (kid:base64key,..., each key `openssl rand -base64 32`)',
    );
  log.warn('PAYMENT_TOKEN_KEYS is unset: payment tokens are sealed with the published dev key, which protects nothing');
  return DEV_TOKEN_KEYRING;
}
