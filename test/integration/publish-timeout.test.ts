import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { connect } from '../../shared/messaging/connection';
import { PublishError } from '../../shared/errors/errors';
import { Publisher } from '../../shared/messaging/publisher';
import type { Topology } from '../../shared/messaging/topology';
import { createLogger } from '../../shared/observability/logger';
import { createMetrics } from '../../shared/observability/metrics';
import { createVhost, deleteVhost } from '../helpers/broker';
import { StallingProxy } from '../helpers/stalling-proxy';

const quiet = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
const TIMEOUT_MS = 1000;

/**
 * A publish whose confirm never comes must fail after PUBLISH_TIMEOUT_MS (so the handler retries, or the order
 * stays in the outbox), not wait for ever. The broker is real; a proxy of the test's own swallows its answers.
 */
describe('publish confirm timeout (real broker behind a stalling proxy)', function () {
  this.timeout(60_000);

  it('rejects with a timeout PublishError after PUBLISH_TIMEOUT_MS and counts it', async () => {
    const { vhost, url } = await createVhost('warren-pubtimeout');
    const broker = new URL(url);
    const proxy = await StallingProxy.start({ host: broker.hostname, port: Number(broker.port || 5672) });
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    const metrics = createMetrics('test');
    const connection = connect(viaProxy.toString(), 'publish', 'test', quiet, metrics);
    const topology: Topology = {
      exchange: 'pt.events',
      queues: [{ name: 'pt.sink', bindings: ['pt.#'] }],
      retryDelaysMs: [],
      queueType: 'classic',
    };
    const publisher = new Publisher(connection, {
      exchange: topology.exchange,
      topology,
      timeoutMs: TIMEOUT_MS,
      bufferLimit: 100,
      bufferBytes: 1 << 20,
      appId: 'test',
      log: quiet,
      metrics,
    });
    try {
      await publisher.ready();
      await publisher.publish('pt.events', 'pt.one', Buffer.from('{}'), { messageId: 'm-1' });

      proxy.stall();
      const started = Date.now();
      const error = await publisher.publish('pt.events', 'pt.two', Buffer.from('{}'), { messageId: 'm-2' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = Date.now() - started;
      assert.ok(error instanceof PublishError, `expected a PublishError, got ${String(error)}`);
      assert.equal(error.outcome, 'timeout');
      assert.ok(elapsed >= TIMEOUT_MS - 50 && elapsed < TIMEOUT_MS + 2000, `failed after ${elapsed} ms`);
      const text = await metrics.registry.getSingleMetricAsString('warren_messages_published_total');
      assert.match(text, /routing_key="pt\.two"[^\n]*outcome="timeout"[^\n]*} 1/);
      assert.equal(publisher.depth, 0, 'nothing left pending');
    } finally {
      // Released first, so the connection's close handshake completes.
      proxy.release();
      await connection.close().catch(() => undefined);
      await proxy.close();
      await deleteVhost(vhost);
    }
  });
});
