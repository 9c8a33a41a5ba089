import assert from 'node:assert/strict';
import { ConfigError } from '../../shared/config/config';
import { loadFleetConfig } from '../../workers/registry';

const SECRET = 'a-secret-of-at-least-32-characters!!';

describe('config: authentication and the price list', () => {
  it('runs open on a laptop: AUTH_MODE defaults to off outside production', () => {
    const config = loadFleetConfig({});
    assert.deepEqual(config.auth, { mode: 'off' });
    assert.equal(config.opsHost, '0.0.0.0');
    assert.equal(config.priceList, undefined);
  });

  it('refuses to start in production without auth settings, naming AUTH_MODE in one line', () => {
    assert.throws(
      () => loadFleetConfig({ NODE_ENV: 'production', PRICE_LIST: 'off' }),
      (e: Error) =>
        e instanceof ConfigError &&
        /^Invalid configuration: AUTH_MODE: required when NODE_ENV=production/.test(e.message) &&
        !e.message.includes('\n'),
    );
  });

  it('refuses to start in production without a price list unless it is turned off, naming PRICE_LIST', () => {
    assert.throws(
      () => loadFleetConfig({ NODE_ENV: 'production', AUTH_MODE: 'off' }),
      /^ConfigError: Invalid configuration: PRICE_LIST: required/,
    );
    assert.deepEqual(loadFleetConfig({ NODE_ENV: 'production', AUTH_MODE: 'off', PRICE_LIST: 'off' }).auth, { mode: 'off' });
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ AUTH_MODE: 'basic' }, /AUTH_MODE: expected jwt, hs256 or off/],
    [{ AUTH_MODE: 'hs256', OPS_TOKEN: SECRET, AUTH_JWT_SECRET: 'short' }, /AUTH_JWT_SECRET: must be at least 32 characters/],
    [{ AUTH_MODE: 'hs256', AUTH_JWT_SECRET: SECRET }, /OPS_TOKEN: required with AUTH_MODE=hs256/],
    // The development identity (npm run token) never reaches a production fleet.
    [
      { NODE_ENV: 'production', PRICE_LIST: 'off', AUTH_MODE: 'hs256', OPS_TOKEN: SECRET, AUTH_JWT_SECRET: SECRET },
      /AUTH_MODE: hs256 is the development identity and is refused when NODE_ENV=production/,
    ],
    [{ AUTH_MODE: 'jwt', OPS_TOKEN: SECRET, AUTH_AUDIENCE: 'warren' }, /AUTH_JWKS_URL: required/],
    [{ AUTH_MODE: 'jwt', OPS_TOKEN: SECRET, AUTH_JWKS_URL: 'ftp://idp/jwks', AUTH_AUDIENCE: 'warren' }, /AUTH_JWKS_URL: expected https/],
    [{ AUTH_MODE: 'jwt', OPS_TOKEN: SECRET, AUTH_JWKS_URL: 'https://idp.example/jwks' }, /AUTH_AUDIENCE: required with AUTH_MODE=jwt/],
    [{ PRICE_LIST: '{"P001": {"USD": 0.001}}' }, /PRICE_LIST: P001\.USD/],
    // Whoever answers a plain-http JWKS fetch across a network picks the keys every token is checked with.
    [
      {
        NODE_ENV: 'production',
        PRICE_LIST: 'off',
        AUTH_MODE: 'jwt',
        OPS_TOKEN: SECRET,
        AUTH_AUDIENCE: 'warren',
        AUTH_JWKS_URL: 'http://idp.example/jwks',
      },
      /AUTH_JWKS_URL: must be https:\/\/ when NODE_ENV=production/,
    ],
  ];
  for (const [env, message] of bad) {
    it(`stops with one line for ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => loadFleetConfig(env),
        (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
      );
    });
  }

  it('takes an http JWKS in production only from a cluster-local Service name or loopback; anywhere outside production', () => {
    const jwt = { NODE_ENV: 'production', PRICE_LIST: 'off', AUTH_MODE: 'jwt', OPS_TOKEN: SECRET, AUTH_AUDIENCE: 'warren' };
    for (const url of [
      'http://idp.shop.svc:8080/jwks',
      'http://idp.shop.svc.cluster.local/jwks',
      'http://127.0.0.1:8080/jwks',
      'https://idp.example/jwks',
    ])
      assert.equal(loadFleetConfig({ ...jwt, AUTH_JWKS_URL: url }).auth.mode, 'jwt', url);
    for (const url of ['http://idp.svc.example.com/jwks', 'http://svc/jwks', 'http://10.0.0.5/jwks'])
      assert.throws(() => loadFleetConfig({ ...jwt, AUTH_JWKS_URL: url }), /must be https/, url);
    assert.equal(loadFleetConfig({ ...jwt, NODE_ENV: 'development', AUTH_JWKS_URL: 'http://idp.example/jwks' }).auth.mode, 'jwt');
  });

  it('never echoes a secret in its error', () => {
    const env = { AUTH_MODE: 'hs256', OPS_TOKEN: SECRET, AUTH_JWT_SECRET: 'hunter2-short' };
    assert.throws(
      () => loadFleetConfig(env),
      (e: Error) => !e.message.includes('hunter2'),
    );
  });

  it('reads the modes it is given', () => {
    const jwt = loadFleetConfig({
      AUTH_MODE: 'jwt',
      OPS_TOKEN: SECRET,
      AUTH_JWKS_URL: 'https://idp.example/jwks',
      AUTH_AUDIENCE: 'warren',
      AUTH_ISSUER: 'https://idp.example/',
    });
    assert.deepEqual(jwt.auth, {
      mode: 'jwt',
      jwksUrl: 'https://idp.example/jwks',
      audience: 'warren',
      issuer: 'https://idp.example/',
      opsToken: SECRET,
    });
    const hs = loadFleetConfig({ AUTH_MODE: 'hs256', OPS_TOKEN: SECRET, AUTH_JWT_SECRET: SECRET, OPS_HOST: '127.0.0.1' });
    assert.deepEqual(hs.auth, { mode: 'hs256', secret: SECRET, opsToken: SECRET });
    assert.equal(hs.opsHost, '127.0.0.1');
  });
});
