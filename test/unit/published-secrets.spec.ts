import assert from 'node:assert/strict';
import { ConfigError } from '../../shared/config/config';
import { createLogger } from '../../shared/observability/logger';
import { requireTokenKeys } from '../../shared/lifecycle/require-token-keys';
import { loadFleetConfig } from '../../workers/registry';

const PRODUCTION = { NODE_ENV: 'production', AUTH_MODE: 'off', PRICE_LIST: 'off' };
const quiet = createLogger({ service: 'test', level: 'silent' });
const oneLine = (pattern: RegExp) => (e: Error) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n');

/** What this repository publishes (.env.example, compose's fallbacks) starts a laptop fleet, never a production one. */
describe('config: published secrets are refused in production, naming the variable', () => {
  it(".env.example's OPS_TOKEN placeholder", () => {
    const env = {
      ...PRODUCTION,
      AUTH_MODE: 'jwt',
      AUTH_JWKS_URL: 'https://idp/jwks',
      AUTH_AUDIENCE: 'a',
      OPS_TOKEN: 'change-me-ops-token-at-least-32-characters',
    };
    assert.throws(() => loadFleetConfig(env), oneLine(/^Invalid configuration: OPS_TOKEN: is a published placeholder/));
    assert.equal(loadFleetConfig({ ...env, NODE_ENV: 'development' }).auth.opsToken, env.OPS_TOKEN, 'a laptop takes it');
  });

  it("compose's dev-only broker and Redis passwords, without echoing them", () => {
    assert.throws(
      () => loadFleetConfig({ ...PRODUCTION, AMQP_URL: 'amqp://warren-order:dev-only-order@rabbitmq:5672/warren' }),
      (e: Error) =>
        oneLine(/^Invalid configuration: AMQP_URL: its password is a published placeholder/)(e) && !e.message.includes('dev-only-order'),
    );
    assert.throws(
      () => loadFleetConfig({ ...PRODUCTION, REDIS_URL: 'redis://warren-order:change-me-redis-order@redis:6379' }),
      oneLine(/^Invalid configuration: REDIS_URL: its password is a published placeholder/),
    );
    assert.doesNotThrow(() => loadFleetConfig({ ...PRODUCTION, AMQP_URL: 'amqp://warren-order:Xk2-own-password@rabbitmq:5672/warren' }));
  });

  it("compose's fallback payment-token key and the dev keyring", () => {
    for (const keys of [
      'dev-compose:d2FycmVuLWNvbXBvc2UtZGV2LW9ubHkta2V5LTAwMDE=',
      `k1:${Buffer.alloc(32, 'warren-dev-only-payment-token-key').toString('base64')}`,
    ]) {
      const config = loadFleetConfig({ ...PRODUCTION, PAYMENT_TOKEN_KEYS: keys });
      assert.throws(
        () => requireTokenKeys(config, quiet),
        oneLine(/^Invalid configuration: PAYMENT_TOKEN_KEYS: key \S+ is a published development key/),
      );
      assert.doesNotThrow(() => requireTokenKeys({ ...config, production: false }, quiet));
    }
    const own = loadFleetConfig({ ...PRODUCTION, PAYMENT_TOKEN_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` });
    assert.doesNotThrow(() => requireTokenKeys(own, quiet));
  });

  it('an OPS_TOKEN that is set counts with authentication off too (and must be long enough)', () => {
    assert.equal(
      loadFleetConfig({ OPS_TOKEN: 'an-ops-token-of-at-least-32-characters' }).auth.opsToken,
      'an-ops-token-of-at-least-32-characters',
    );
    assert.throws(
      () => loadFleetConfig({ OPS_TOKEN: 'short' }),
      oneLine(/^Invalid configuration: OPS_TOKEN: must be at least 32 characters/),
    );
    assert.deepEqual(loadFleetConfig({}).auth, { mode: 'off' });
  });
});
