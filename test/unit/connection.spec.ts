import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mock } from 'node:test';
import amqp, { type AmqpConnectionManagerOptions } from 'amqp-connection-manager';
import { connect } from '../../shared/messaging/connection';
import { capturedLog, testMetrics, valueOf } from './fakes/fixtures';

/**
 * connect() against a stand-in for amqp-connection-manager: the seam is the package's `connect`, replaced for each
 * test (node:test's mock.method), which records what it was asked and returns a manager the test drives by its events.
 */
function connecting() {
  const asked: { urls: string[]; options: AmqpConnectionManagerOptions }[] = [];
  const manager = new EventEmitter();
  mock.method(amqp, 'connect', (urls: string[], options: AmqpConnectionManagerOptions) => {
    asked.push({ urls, options });
    return manager;
  });
  const { log, lines } = capturedLog('info');
  return { asked, manager, lines, log, metrics: testMetrics() };
}

describe('connect (one managed AMQP connection per role)', () => {
  afterEach(() => mock.restoreAll());

  it('names the connection by service and role, turns Nagle off, and tries every node of a cluster in turn', () => {
    const { asked, log, metrics } = connecting();
    const tls = { ca: Buffer.from('ca'), cert: Buffer.from('cert'), key: Buffer.from('key') };
    connect('amqp://127.0.0.1:5672', 'publish', 'order', log, metrics);
    connect(['amqps://a:5671', 'amqps://b:5671'], 'consume', 'payment', log, metrics, tls);
    assert.deepEqual(
      asked.map((a) => a.urls),
      [['amqp://127.0.0.1:5672'], ['amqps://a:5671', 'amqps://b:5671']],
    );
    const [plain, secure] = asked.map((a) => a.options);
    assert.equal(plain!.heartbeatIntervalInSeconds, 5);
    assert.equal(plain!.reconnectTimeInSeconds, 1);
    assert.deepEqual(plain!.connectionOptions, { noDelay: true, clientProperties: { connection_name: 'warren-order-publish' } });
    assert.deepEqual(secure!.connectionOptions, { noDelay: true, clientProperties: { connection_name: 'warren-payment-consume' }, ...tls });
  });

  it('reports the connection up while it is connected, by role, and coalesces the writes of its socket', async () => {
    const { manager, log, metrics } = connecting();
    connect('amqp://127.0.0.1:5672', 'consume', 'inventory', log, metrics);
    const up = () => valueOf(metrics.connectionUp, { connection: 'consume' });
    const labels = async () => (await metrics.connectionUp.get()).values.map((v) => v.labels);
    assert.deepEqual(await labels(), [{ connection: 'consume' }], 'down (0) from the start, not absent');
    assert.equal(await up(), 0);
    const corks: string[] = [];
    const stream = { writableLength: 0, cork: () => corks.push('cork'), uncork: () => undefined, write: () => true };
    manager.emit('connect', { connection: { connection: { stream } }, url: 'amqp://127.0.0.1:5672' });
    assert.equal(await up(), 1);
    stream.write();
    assert.deepEqual(corks, ['cork'], "the socket's writes of one tick go out together");
    manager.emit('disconnect', { err: new Error('socket closed') });
    assert.equal(await up(), 0);
  });

  it('logs the node it landed on by host only, never the credentials of its URL', () => {
    const { manager, lines, log, metrics } = connecting();
    connect('amqp://warren:s3cret@node-a:5672/vhost', 'publish', 'order', log, metrics);
    manager.emit('connect', { connection: {}, url: 'amqp://warren:s3cret@node-a:5672/vhost' });
    manager.emit('connect', { connection: {}, url: { hostname: 'node-b', username: 'warren', password: 's3cret' } });
    assert.deepEqual(
      lines.map((l) => [l['msg'], l['role'], l['node']]),
      [
        ['amqp connected', 'publish', 'node-a:5672'],
        ['amqp connected', 'publish', 'node-b'],
      ],
    );
    assert.ok(!JSON.stringify(lines).includes('s3cret'));
  });

  it('logs each change of the connection with its role: lost, a failed attempt, blocked and unblocked by the broker', () => {
    const { manager, lines, log, metrics } = connecting();
    connect('amqp://127.0.0.1:5672', 'publish', 'order', log, metrics);
    manager.emit('disconnect', { err: new Error('heartbeat timeout') });
    manager.emit('connectFailed', { err: new Error('ECONNREFUSED') });
    manager.emit('blocked', { reason: 'low on memory' });
    manager.emit('unblocked');
    manager.emit('disconnect', {});
    assert.deepEqual(
      lines.map((l) => [l['level'], l['role'], l['err'] ?? l['reason']]),
      [
        ['warn', 'publish', 'heartbeat timeout'],
        ['warn', 'publish', 'ECONNREFUSED'],
        ['warn', 'publish', 'low on memory'],
        ['info', 'publish', undefined],
        ['warn', 'publish', undefined],
      ],
    );
  });
});
