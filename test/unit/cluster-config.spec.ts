import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config/config';
import { sentinelOptions } from '../../shared/redis/client';

const oneLine = (name: string, pattern: RegExp) => (e: unknown) =>
  e instanceof ConfigError &&
  e.message.startsWith(`Invalid configuration: ${name}:`) &&
  !e.message.includes('\n') &&
  pattern.test(e.message);

describe('config: a cluster of brokers and Redis under Sentinel', () => {
  it('keeps a single AMQP_URL exactly as given', () => {
    const config = loadConfig({ AMQP_URL: 'amqp://u:p@rabbit:5672/warren' });
    assert.equal(config.amqpUrl, 'amqp://u:p@rabbit:5672/warren');
    assert.deepEqual(config.amqpUrls, ['amqp://u:p@rabbit:5672/warren']);
    assert.equal(config.redisSentinel, undefined);
  });

  it('splits a comma-separated AMQP_URL into the nodes of one cluster; amqpUrl is the first', () => {
    const config = loadConfig({
      AMQP_URL: 'amqp://u:p@rabbit-1:5672/warren, amqp://u:p@rabbit-2:5672/warren,amqps://u:p@rabbit-3:5671/warren',
    });
    assert.deepEqual(config.amqpUrls, [
      'amqp://u:p@rabbit-1:5672/warren',
      'amqp://u:p@rabbit-2:5672/warren',
      'amqps://u:p@rabbit-3:5671/warren',
    ]);
    assert.equal(config.amqpUrl, 'amqp://u:p@rabbit-1:5672/warren');
  });

  it('reads no path and an encoded slash as the same default vhost', () => {
    assert.equal(loadConfig({ AMQP_URL: 'amqp://a:5672,amqp://b:5672/%2F' }).amqpUrls.length, 2);
  });

  const badAmqp: [string, RegExp][] = [
    ['amqp://u:p@a:5672/warren,amqp://u:p@b:5672/other', /same vhost, got "warren" in the first and "other" in URL 2/],
    ['amqp://u:p@a:5672/warren,amqp://u:p@b:5672', /same vhost, got "warren" in the first and "\/" in URL 2/],
    ['amqp://a:5672/warren,http://b', /expected amqp:\/\/ or amqps:\/\//],
    [' , ', /one or more amqp:\/\/ URLs/],
  ];
  for (const [value, why] of badAmqp) {
    it(`stops with one line naming AMQP_URL for ${JSON.stringify(value)}`, () => {
      assert.throws(() => loadConfig({ AMQP_URL: value }), oneLine('AMQP_URL', why));
    });
  }

  it('never echoes a password from a bad URL in a list', () => {
    assert.throws(
      () => loadConfig({ AMQP_URL: 'amqp://u:hunter2@a/warren,amqp//u:hunter2@b/warren' }),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('hunter2'),
    );
  });

  it('reads the sentinels and the master name', () => {
    const config = loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379, sentinel-2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'warren' });
    assert.deepEqual(config.redisSentinel, {
      name: 'warren',
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: 'sentinel-2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
    });
  });

  const badSentinel: [Record<string, string>, string, RegExp][] = [
    [{ REDIS_SENTINELS: 'sentinel-1' }, 'REDIS_SENTINELS', /host:port pairs/],
    [{ REDIS_SENTINELS: 'sentinel-1:0' }, 'REDIS_SENTINELS', /host:port pairs/],
    [{ REDIS_SENTINELS: 'a:26379,,b:26379', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS', /host:port pairs/],
    [{ REDIS_SENTINELS: 'a:26379' }, 'REDIS_SENTINEL_NAME', /required with REDIS_SENTINELS/],
    [{ REDIS_SENTINEL_NAME: 'warren' }, 'REDIS_SENTINELS', /required with REDIS_SENTINEL_NAME/],
  ];
  for (const [env, name, why] of badSentinel) {
    it(`stops with one line naming ${name} for ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig(env), oneLine(name, why));
    });
  }

  it('takes credentials, database and TLS from REDIS_URL under Sentinel, and asks the sentinels with the same password', () => {
    const sentinel = { sentinels: [{ host: 's1', port: 26379 }], name: 'warren' };
    const options = sentinelOptions('rediss://app:p%40ss@ignored:6379/2', sentinel);
    assert.deepEqual(options.sentinels, [{ host: 's1', port: 26379 }]);
    assert.equal(options.name, 'warren');
    assert.equal(options.role, 'master');
    assert.equal(options.username, 'app');
    assert.equal(options.password, 'p@ss');
    assert.equal(options.sentinelPassword, 'p@ss');
    assert.equal(options.db, 2);
    assert.equal(options.enableTLSForSentinelMode, true);
    const plain = sentinelOptions('redis://ignored:6379', sentinel);
    assert.equal(plain.password, undefined);
    assert.equal(plain.db, undefined);
    assert.equal(plain.tls, undefined);
  });
});
