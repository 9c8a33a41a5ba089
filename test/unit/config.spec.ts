import assert from 'node:assert/strict';
import { ConfigError, CONFIG_VARIABLES, loadConfig } from '../../shared/config/config';
import { FLEET_CONFIG_VARIABLES, loadFleetConfig, SERVICE_DECLARATIONS, settingsOf } from '../../workers/registry';

describe('config', () => {
  it('has a working default for every variable', () => {
    const config = loadFleetConfig({});
    assert.equal(config.amqpUrl, 'amqp://guest:guest@127.0.0.1:5672');
    assert.equal(config.redisKeyPrefix, 'warren:');
    assert.equal(config.eventsExchange, 'warren.events');
    // The ports of the first three services are an outside contract; every other declared one is its default.
    assert.deepEqual([config.opsPorts['order'], config.opsPorts['inventory'], config.opsPorts['payment']], [9101, 9102, 9103]);
    assert.equal(config.apiPorts['order'], 3000);
    for (const s of SERVICE_DECLARATIONS) {
      assert.equal(config.opsPorts[s.name], s.ops.default, s.name);
      if ('api' in s) assert.equal(config.apiPorts[s.name], s.api.default, s.name);
    }
    assert.deepEqual(config.retryDelaysMs, [1000, 5000, 30000]);
    assert.equal(config.queueType, 'quorum');
    assert.equal(settingsOf(config, 'payment').PAYMENT_GATEWAY_FAILURE_RATE, 0);
    assert.equal(settingsOf(config, 'order').ORDER_TIMEOUT_MS, 60000);
  });

  it('parses the values it is given', () => {
    const config = loadFleetConfig({
      RETRY_DELAYS_MS: '10, 20',
      QUEUE_TYPE: 'classic',
      PREFETCH: '50',
      PAYMENT_GATEWAY_FAILURE_RATE: '0.25',
    });
    assert.deepEqual(config.retryDelaysMs, [10, 20]);
    assert.equal(config.queueType, 'classic');
    assert.equal(config.prefetch, 50);
    assert.equal(settingsOf(config, 'payment').PAYMENT_GATEWAY_FAILURE_RATE, 0.25);
  });

  const bad: [string, string][] = [
    ['AMQP_URL', 'not a url'],
    ['AMQP_URL', 'http://x'],
    ['REDIS_URL', 'amqp://x'],
    ['ORDER_HTTP_PORT', '-1'],
    ['INVENTORY_OPS_PORT', '70000'],
    ['QUEUE_TYPE', 'stream'],
    ['RETRY_DELAYS_MS', '100,soon'],
    ['PAYMENT_GATEWAY_FAILURE_RATE', '1.5'],
    ['PREFETCH', '0'],
    ['LOG_LEVEL', 'loud'],
  ];
  for (const [name, value] of bad) {
    it(`stops with one line naming ${name} for ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => loadFleetConfig({ [name]: value }),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid configuration: ${name}:`) && !e.message.includes('\n'),
      );
    });
  }

  it('reads the port variables the services declare, under their outside names', () => {
    const config = loadFleetConfig({ ORDER_HTTP_PORT: '8080', PAYMENT_OPS_PORT: '9999' });
    assert.equal(config.apiPorts['order'], 8080);
    assert.equal(config.opsPorts['payment'], 9999);
    const ports = FLEET_CONFIG_VARIABLES.filter((v) => !(CONFIG_VARIABLES as readonly string[]).includes(v)).sort();
    for (const outside of ['INVENTORY_OPS_PORT', 'ORDER_HTTP_PORT', 'ORDER_OPS_PORT', 'PAYMENT_OPS_PORT'])
      assert.ok(ports.includes(outside), outside);
    const declared = SERVICE_DECLARATIONS.flatMap((s) => [
      s.ops.env,
      ...('api' in s ? [s.api.env] : []),
      ...Object.keys('settings' in s ? s.settings : {}),
    ]);
    assert.deepEqual(ports, declared.sort());
  });

  it('hands each service its own settings only, validated with the rest and named when bad', () => {
    const config = loadFleetConfig({ ORDER_TIMEOUT_MS: '1500' });
    assert.equal(settingsOf(config, 'order').ORDER_TIMEOUT_MS, 1500);
    assert.deepEqual(Object.keys(config.settings['inventory'] ?? {}), [], 'inventory declares none');
    assert.ok(!('ORDER_TIMEOUT_MS' in (config.settings['payment'] ?? {})), "payment never sees order's knob");
    assert.throws(
      () => loadFleetConfig({ PAYMENT_GATEWAY_FAILURE_RATE: '2' }),
      (e: unknown) => e instanceof ConfigError && /^Invalid configuration: PAYMENT_GATEWAY_FAILURE_RATE/.test(e.message),
    );
    assert.throws(
      () =>
        loadConfig({}, [
          ...SERVICE_DECLARATIONS,
          {
            name: 'copy',
            ops: { env: 'COPY_OPS_PORT', default: 1 },
            settings: { ORDER_TIMEOUT_MS: SERVICE_DECLARATIONS[0].settings.ORDER_TIMEOUT_MS },
          },
        ]),
      /ORDER_TIMEOUT_MS: declared twice/,
    );
  });

  it('refuses two services declaring one port variable', () => {
    const ops = { env: 'SHARED_OPS_PORT', default: 9200 };
    assert.throws(
      () =>
        loadConfig({}, [
          { name: 'a', ops },
          { name: 'b', ops },
        ]),
      /SHARED_OPS_PORT: declared twice \(service b\)/,
    );
  });

  it('refuses done markers that would expire before the last retry', () => {
    assert.throws(
      () => loadConfig({ RETRY_DELAYS_MS: '60000,60000', IDEMPOTENCY_LEASE_MS: '1000', IDEMPOTENCY_RETENTION_MS: '100000' }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith('Invalid configuration: IDEMPOTENCY_RETENTION_MS:'),
    );
  });

  it('never echoes a password from a bad URL', () => {
    assert.throws(
      () => loadConfig({ AMQP_URL: 'http://user:hunter2@host' }),
      (e: unknown) => !(e as Error).message.includes('hunter2'),
    );
    assert.throws(
      () => loadConfig({ AMQP_URL: 'amqp//user:hunter2@host' }),
      (e: unknown) => !(e as Error).message.includes('hunter2'),
    );
  });
});
