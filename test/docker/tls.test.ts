import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import amqplib from 'amqplib';
import pino from 'pino';
import type { WarrenConfig } from '../../shared/config/config';
import type { Runtime } from '../../shared/lifecycle/runtime';
import { connect } from '../../shared/messaging/connection';
import { createMetrics } from '../../shared/observability/metrics';
import { createRedis } from '../../shared/redis/client';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { startService } from '../../workers/services';
import { http, orderRequest } from '../helpers/api';
import { uniqueName } from '../helpers/broker';
import { fleetPorts, startOrder } from '../helpers/fleet-ports';
import { LogCapture } from '../helpers/log-capture';
import { OwnTlsBroker } from '../helpers/own-tls-broker';
import { SecureRedis } from '../helpers/own-secure-redis';
import { makeTestPki, type TestPki } from '../helpers/test-ca';
import { waitFor } from '../helpers/wait';

const quiet = pino({ level: 'silent' });

/**
 * The fleet over TLS only: a RabbitMQ container with an AMQPS listener alone and a redis-server with a TLS port
 * alone, both requiring a client certificate, from a CA this test makes. A server certificate from another CA
 * (made here too) is refused by both clients.
 */
describe('TLS to RabbitMQ and Redis (own broker container and redis-server, CA made by the test)', function () {
  this.timeout(300_000);
  let pki: TestPki;
  let rogue: TestPki;
  let redis: SecureRedis;
  let broker: OwnTlsBroker;
  const env = () => ({
    AMQP_URL: broker.url,
    AMQP_TLS_CA_FILE: pki.ca,
    AMQP_TLS_CERT_FILE: pki.client.cert,
    AMQP_TLS_KEY_FILE: pki.client.key,
    REDIS_URL: redis.url(),
    REDIS_TLS_CA_FILE: pki.ca,
    REDIS_TLS_CERT_FILE: pki.client.cert,
    REDIS_TLS_KEY_FILE: pki.client.key,
  });

  before(async () => {
    [pki, rogue] = await Promise.all([makeTestPki('warren'), makeTestPki('rogue')]);
    [redis, broker] = await Promise.all([SecureRedis.start({ pki }), OwnTlsBroker.start(pki)]);
  });
  after(async () => {
    await Promise.all([redis?.destroy(), broker?.destroy()]);
    pki?.destroy();
    rogue?.destroy();
  });

  it('takes an order to CONFIRMED with every broker and Redis connection over TLS', async () => {
    const ports = await fleetPorts(SERVICE_DECLARATIONS);
    const config: WarrenConfig = loadFleetConfig({
      ...env(),
      ...ports.env,
      REDIS_KEY_PREFIX: `${uniqueName('tls')}:`,
      RETRY_DELAYS_MS: '100,200,400',
      IDEMPOTENCY_LEASE_MS: '500',
      OUTBOX_RELAY_INTERVAL_MS: '100',
      SHUTDOWN_TIMEOUT_MS: '3000',
    });
    assert.ok(config.amqpTls?.cert && config.redisTls?.key, 'the TLS files were read at start-up');
    const runtimes: Runtime[] = [];
    try {
      for (const name of startOrder(SERVICE_NAMES)) runtimes.push(await startService(name, config, { logDestination: new LogCapture() }));
      assert.equal((await http('PUT', `${ports.ops.inventory}/stock/TLS-1`, { available: 5 })).status, 200);
      const placed = await http('POST', `${ports.api}/orders`, orderRequest({ items: [{ productId: 'TLS-1', quantity: 2 }] }));
      assert.equal(placed.status, 202, JSON.stringify(placed.body));
      const order = await waitFor('order CONFIRMED over TLS', async () => {
        const { body } = await http('GET', `${ports.api}/orders/${placed.body.orderId}`);
        return body.status === 'CONFIRMED' && body;
      });
      const seen = order.history.map((h: { eventType: string }) => h.eventType);
      for (const type of ['OrderPlaced', 'InventoryReserved', 'PaymentCaptured']) assert.ok(seen.includes(type), `${type} in ${seen}`);
      const payment = await http('GET', `${ports.ops.payment}/payments/${placed.body.orderId}`);
      assert.equal(payment.body.captures, 1);
      const connections = await broker.connections();
      const warren = connections.filter((c) => c.name.startsWith('warren-'));
      assert.equal(warren.length, SERVICE_NAMES.length * 2, `publish and consume per service: ${JSON.stringify(connections)}`);
      assert.ok(
        warren.every((c) => c.ssl),
        `every connection is TLS: ${JSON.stringify(connections)}`,
      );
    } finally {
      for (const runtime of runtimes.reverse()) await runtime.stop();
    }
  });

  it('refuses a server certificate from another CA, on the broker and on Redis', async () => {
    const config = loadFleetConfig({ ...env(), AMQP_TLS_CA_FILE: rogue.ca, REDIS_TLS_CA_FILE: rogue.ca });
    const metrics = createMetrics('tls-test');
    const manager = connect(config.amqpUrls, 'publish', 'tls-test', quiet, metrics, config.amqpTls);
    const client = createRedis(config, quiet, metrics);
    try {
      const amqpError = await new Promise<string>((resolve) => manager.once('connectFailed', ({ err }) => resolve(err?.message ?? '')));
      assert.match(amqpError, /certificate/i);
      const redisError = await new Promise<string>((resolve) => client.once('error', (err: Error) => resolve(err.message)));
      assert.match(redisError, /certificate/i);
      assert.notEqual(client.status, 'ready');
    } finally {
      await manager.close();
      client.disconnect();
    }
  });

  it('refuses a client without a certificate from the CA', async () => {
    const ca = readFileSync(pki.ca);
    await assert.rejects(amqplib.connect(broker.url, { ca }), 'the broker accepted a client without a certificate');
    const rogueClient = { ca, cert: readFileSync(rogue.client.cert), key: readFileSync(rogue.client.key) };
    await assert.rejects(amqplib.connect(broker.url, rogueClient), 'the broker accepted a client certificate from another CA');
    const client = createRedis({ redisUrl: redis.url(), redisTls: { ca } }, quiet, createMetrics('tls-test-2'));
    try {
      await assert.rejects(client.ping(), 'Redis answered a client without a certificate');
      assert.notEqual(client.status, 'ready');
    } finally {
      client.disconnect();
    }
  });
});
