import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../shared/config/config';

describe('config', () => {
  it('has a working default for every variable', () => {
    const config = loadConfig({});
    assert.equal(config.amqpUrl, 'amqp://guest:guest@127.0.0.1:5672');
    assert.equal(config.redisKeyPrefix, 'warren:');
    assert.equal(config.eventsExchange, 'warren.events');
    assert.deepEqual(config.opsPorts, { order: 9101, inventory: 9102, payment: 9103 });
    assert.deepEqual(config.retryDelaysMs, [1000, 5000, 30000]);
    assert.equal(config.queueType, 'quorum');
    assert.equal(config.paymentGatewayFailureRate, 0);
  });

  it('parses the values it is given', () => {
    const config = loadConfig({ RETRY_DELAYS_MS: '10, 20', QUEUE_TYPE: 'classic', PREFETCH: '50', PAYMENT_GATEWAY_FAILURE_RATE: '0.25' });
    assert.deepEqual(config.retryDelaysMs, [10, 20]);
    assert.equal(config.queueType, 'classic');
    assert.equal(config.prefetch, 50);
    assert.equal(config.paymentGatewayFailureRate, 0.25);
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
        () => loadConfig({ [name]: value }),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid configuration: ${name}:`) && !e.message.includes('\n'),
      );
    });
  }

  it('refuses done markers that would expire before the last retry', () => {
    assert.throws(
      () => loadConfig({ RETRY_DELAYS_MS: '60000,60000', IDEMPOTENCY_LEASE_MS: '1000', IDEMPOTENCY_RETENTION_MS: '100000' }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith('Invalid configuration: IDEMPOTENCY_RETENTION_MS:'),
    );
  });

  it('never echoes a password from a bad URL', () => {
    assert.throws(() => loadConfig({ AMQP_URL: 'http://user:hunter2@host' }), (e: unknown) => !(e as Error).message.includes('hunter2'));
    assert.throws(() => loadConfig({ AMQP_URL: 'amqp//user:hunter2@host' }), (e: unknown) => !(e as Error).message.includes('hunter2'));
  });
});
