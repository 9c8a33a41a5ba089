import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { DEFAULT_PUBLISH_BUFFER_BYTES } from '../../shared/config/config';
import { connect } from '../../shared/messaging/connection';
import { PublishError } from '../../shared/errors/errors';
import { Publisher } from '../../shared/messaging/publisher';
import type { Topology } from '../../shared/messaging/topology';
import { createLogger } from '../../shared/observability/logger';
import { createMetrics } from '../../shared/observability/metrics';
import { http, orderRequest } from '../helpers/api';
import { createVhost, deleteVhost, rabbitmqctl } from '../helpers/broker';
import { startTestFleet } from '../helpers/fleet';
import { awaitFinal } from '../helpers/invariants';
import { drainQueue } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';

const quiet = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });

function publisherFor(
  url: string,
  topology: Topology,
  bufferLimit: number,
  timeoutMs = 20_000,
  bufferBytes = DEFAULT_PUBLISH_BUFFER_BYTES,
) {
  const metrics = createMetrics('test');
  const connection = connect(url, 'publish', 'test', quiet, metrics);
  const publisher = new Publisher(connection, {
    exchange: topology.exchange,
    topology,
    timeoutMs,
    bufferLimit,
    bufferBytes,
    appId: 'test',
    log: quiet,
    metrics,
  });
  return { publisher, connection, metrics };
}

const content = (i: number) => Buffer.from(JSON.stringify({ i }));

describe('publishing through faults (real broker)', function () {
  this.timeout(120_000);
  let connection: AmqpConnectionManager | undefined;
  afterEach(async () => {
    await connection?.close();
    connection = undefined;
  });

  /**
   * A vhost the publisher cannot reach yet: guest's permissions are taken away, so connections fail until
   * `reopen()` gives them back. Deleted afterwards.
   */
  async function withUnreachableVhost(run: (url: string, topology: Topology, reopen: () => Promise<void>) => Promise<void>): Promise<void> {
    const { vhost, url } = await createVhost('warren-pubfault');
    const topology: Topology = {
      exchange: 'pf.events',
      queues: [{ name: 'pf.sink', bindings: ['pf.#'] }],
      retryDelaysMs: [],
      queueType: 'classic',
    };
    try {
      await rabbitmqctl('clear_permissions', '-p', vhost, 'guest');
      await run(url, topology, async () => {
        await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
      });
    } finally {
      await deleteVhost(vhost);
    }
  }

  it('buffers while the broker is unreachable, refuses past the bound, and never drops what it accepted', () =>
    withUnreachableVhost(async (url, topology, reopen) => {
      const p = publisherFor(url, topology, 20);
      connection = p.connection;
      const accepted = Array.from({ length: 20 }, (_, i) => p.publisher.publish('pf.events', 'pf.x', content(i), { messageId: `m-${i}` }));
      const settled = accepted.map((promise) =>
        promise.then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
      await assert.rejects(
        p.publisher.publish('pf.events', 'pf.x', content(99), { messageId: 'm-99' }),
        (e: unknown) => e instanceof PublishError && e.outcome === 'buffer_full',
      );
      assert.equal(p.publisher.depth, 20);
      const gauge = await p.metrics.registry.getSingleMetricAsString('warren_publish_buffer_depth');
      assert.match(gauge, / 20$/m);
      await sleep(1500);
      await reopen();
      assert.deepEqual(await Promise.all(settled), Array(20).fill('ok'));
      const got = await drainQueue(url, 'pf.sink');
      assert.deepEqual(new Set(got.map((m) => m.properties.messageId)), new Set(Array.from({ length: 20 }, (_, i) => `m-${i}`)));
      assert.ok(
        got.every((m) => m.properties.deliveryMode === 2),
        'persistent',
      );
    }));

  it('bounds the buffer in bytes too: large messages are refused before the count is reached', () =>
    withUnreachableVhost(async (url, topology, reopen) => {
      // 1 MiB of buffer, 1,000 messages of count: four 300 KiB bodies fit in neither at once.
      const p = publisherFor(url, topology, 1000, 20_000, 1024 * 1024);
      connection = p.connection;
      const body = (i: number) => Buffer.concat([content(i), Buffer.alloc(300 * 1024, 32)]);
      const accepted = [0, 1, 2].map((i) =>
        p.publisher.publish('pf.events', 'pf.x', body(i), { messageId: `b-${i}` }).then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
      await assert.rejects(
        p.publisher.publish('pf.events', 'pf.x', body(3), { messageId: 'b-3' }),
        (e: unknown) => e instanceof PublishError && e.outcome === 'buffer_full' && /bytes/.test(e.message),
      );
      assert.equal(p.publisher.depth, 3);
      await reopen();
      assert.deepEqual(await Promise.all(accepted), ['ok', 'ok', 'ok']);
      // Drained: room again.
      await p.publisher.publish('pf.events', 'pf.x', body(4), { messageId: 'b-4' });
      const got = await drainQueue(url, 'pf.sink');
      assert.deepEqual(got.map((m) => m.properties.messageId).sort(), ['b-0', 'b-1', 'b-2', 'b-4']);
    }));

  it('re-publishes confirms lost to a closed connection: every message arrives', async () => {
    const { vhost, url } = await createVhost('warren-pubfault');
    const topology: Topology = {
      exchange: 'pf.events',
      queues: [{ name: 'pf.sink', bindings: ['pf.#'] }],
      retryDelaysMs: [],
      queueType: 'quorum',
    };
    try {
      const p = publisherFor(url, topology, 10_000);
      connection = p.connection;
      await p.publisher.ready();
      // Publish steadily while the connection is closed under the publisher, and for a while after.
      const ids: string[] = [];
      const pending: Promise<void>[] = [];
      let closedAt: number | undefined;
      const closing = rabbitmqctl('close_all_connections', '--vhost', vhost, 'chaos: test closes connections mid-publish').then(
        () => (closedAt = Date.now()),
      );
      while (closedAt === undefined || Date.now() - closedAt < 1000) {
        for (let i = 0; i < 20; i++) {
          const id = randomUUID();
          ids.push(id);
          pending.push(p.publisher.publish('pf.events', 'pf.x', content(ids.length), { messageId: id }));
        }
        await sleep(5);
      }
      await closing;
      await Promise.all(pending);
      const got = await drainQueue(url, 'pf.sink');
      const seen = new Set(got.map((m) => m.properties.messageId));
      assert.equal(ids.filter((id) => !seen.has(id)).length, 0, 'no message lost');
      assert.ok(got.length >= ids.length);
    } finally {
      await deleteVhost(vhost);
    }
  });

  it('treats an unroutable message as a failure (mandatory + return)', async () => {
    const { vhost, url } = await createVhost('warren-pubfault');
    const topology: Topology = { exchange: 'pf.events', queues: [], retryDelaysMs: [], queueType: 'classic' };
    try {
      const p = publisherFor(url, topology, 10);
      connection = p.connection;
      await assert.rejects(
        p.publisher.publish('pf.events', 'nobody.listens', content(1), { messageId: 'lost' }),
        (e: unknown) => e instanceof PublishError && e.outcome === 'returned',
      );
    } finally {
      await deleteVhost(vhost);
    }
  });

  it('answers 503 for new orders while the broker is unreachable, and recovers on its own', async () => {
    const fleet = await startTestFleet();
    try {
      await http('PUT', `${fleet.urls.ops.inventory}/stock/PF-1`, { available: 10 });
      await rabbitmqctl('clear_permissions', '-p', fleet.vhost, 'guest');
      await rabbitmqctl('close_all_connections', '--vhost', fleet.vhost, 'chaos: broker unreachable');
      const refused = await waitFor('a 503', async () => {
        const r = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: 'PF-1', quantity: 1 }] }));
        return r.status === 503 ? r : undefined;
      });
      assert.match(refused.headers.get('content-type') ?? '', /problem\+json/);
      assert.equal((await http('GET', `${fleet.urls.ops.order}/readyz`)).status, 503);
      await rabbitmqctl('set_permissions', '-p', fleet.vhost, 'guest', '.*', '.*', '.*');
      const accepted = await waitFor(
        'a 202 after recovery',
        async () => {
          const r = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: 'PF-1', quantity: 1 }] }));
          return r.status === 202 ? r : undefined;
        },
        30_000,
        250,
      );
      const outcomes = await awaitFinal(fleet.urls.api, [accepted.body.orderId]);
      assert.equal(outcomes.get(accepted.body.orderId)!.status, 'CONFIRMED');
    } finally {
      await rabbitmqctl('set_permissions', '-p', fleet.vhost, 'guest', '.*', '.*', '.*').catch(() => undefined);
      await fleet.stop();
    }
  });
});
