import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { declareTopology } from '../../shared/messaging/topology-check';
import { http, orderRequest } from '../helpers/api';
import { addVhostUser, createVhost, deleteVhost, rabbitmqctl } from '../helpers/broker';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { awaitFinal } from '../helpers/invariants';
import { placeOrders } from '../helpers/traffic';
import { waitFor } from '../helpers/wait';
import { PAYMENT_QUEUE } from '../../workers/payment/service';
import { SERVICE_DECLARATIONS } from '../../workers/registry';

const DEADLINE_MS = 3000;

/**
 * The three ways the broker takes a consumer away, replayed on the real broker against the services in this
 * process: the queue deleted (basic.cancel), the channel closed on a channel error, and a recovery the broker
 * refuses (permissions revoked). The fleet logs in as a user of its own, so revoking it touches nothing else.
 */
describe('consumer recovery: the broker takes a consumer away', function () {
  this.timeout(120_000);
  const user = `warren-rec-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let vhost: string;
  let adminUrl: string;
  let fleet: TestFleet;

  /** The payment queue's consumers, read by a passive declare as an administrator. */
  const paymentConsumers = async (): Promise<number | undefined> => {
    const connection = await amqplib.connect(adminUrl);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      return (await channel.checkQueue(PAYMENT_QUEUE)).consumerCount;
    } catch {
      return undefined;
    } finally {
      await connection.close().catch(() => undefined);
    }
  };
  /** Closes the payment consumer's channel from the broker's side (see the channel-error test below). */
  const closePaymentConsumerChannel = () =>
    rabbitmqctl(
      'eval',
      `[rabbit_channel_common:do(proplists:get_value(channel_pid, C), {'basic.ack', 999999, false}) || C <- rabbit_amqqueue:consumers_all(<<"${vhost}">>), element(4, proplists:get_value(queue_name, C)) =:= <<"${PAYMENT_QUEUE}">>].`,
    );
  const status = async (path: '/readyz' | '/healthz') => (await http('GET', `${fleet.urls.ops.payment}${path}`)).status;
  const recoveries = async () =>
    Number(
      /warren_consumer_recoveries_total\{[^}]*queue="warren\.payment"[^}]*\} (\d+)/.exec(
        await (await fetch(`${fleet.urls.ops.payment}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  /** A new order after the recovery: placed, charged and confirmed. */
  const orderEndsRight = async () => {
    const placed = await http('POST', `${fleet.urls.api}/orders`, orderRequest({ items: [{ productId: 'REC-IN', quantity: 1 }] }));
    assert.equal(placed.status, 202);
    const outcome = (await awaitFinal(fleet.urls.api, [placed.body.orderId], 30_000)).get(placed.body.orderId)!;
    assert.equal(outcome.status, 'CONFIRMED');
  };

  before(async () => {
    const created = await createVhost('warren-rec');
    vhost = created.vhost;
    adminUrl = created.url;
    const url = await addVhostUser(vhost, user, password);
    fleet = await startTestFleet({ AMQP_URL: url, LOG_LEVEL: 'info', CONSUMER_RECOVERY_DEADLINE_MS: String(DEADLINE_MS) });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/REC-IN`, { available: 100_000 });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/REC-OUT`, { available: 0 });
  });

  after(async () => {
    await fleet?.stop();
    await rabbitmqctl('delete_user', user).catch(() => undefined);
    if (vhost) await deleteVhost(vhost);
  });

  it('declares a deleted queue again and consumes it within 10 s, under load; a new order then ends right', async () => {
    const traffic = placeOrders(fleet.urls.api, 60, 30, { inStock: 'REC-IN', outOfStock: 'REC-OUT' });
    await waitFor('orders flowing', () => traffic.accepted.length >= 15 || undefined, 10_000, 20);
    const before = await recoveries();
    const connection = await amqplib.connect(adminUrl);
    const deletedAt = Date.now();
    await (await connection.createChannel()).deleteQueue(PAYMENT_QUEUE);
    await connection.close();
    await waitFor('payment consuming its queue again', async () => (await paymentConsumers()) === 1 || undefined, 10_000, 20);
    const recoveredMs = Date.now() - deletedAt;
    const downMs = fleet.logs
      .entries('consumer recovered')
      .filter((e) => e['queue'] === PAYMENT_QUEUE)
      .at(-1)?.['downMs'];
    console.log(`      [recovery] queue deleted -> consumed again in ${recoveredMs} ms (cancel -> consuming: ${String(downMs)} ms)`);
    assert.ok(recoveredMs < 10_000);
    await waitFor('payment ready', async () => (await status('/readyz')) === 200 || undefined, 5000, 50);
    assert.equal(await recoveries(), before + 1);
    await traffic.done;
    await orderEndsRight();
  });

  it('replaces a channel the broker closed on a channel error, and consumes again', async () => {
    const before = await recoveries();
    // The broker's own channel process is made to process an ack of a delivery tag it never sent, as a buggy
    // client's would: it closes the channel with 406 PRECONDITION_FAILED, as for any channel-level error. The method
    // goes in the way the connection's reader hands it over (rabbit_channel_common:do/2, on 3.10 and 4.x alike;
    // 4.3 removed rabbit_channel:do/2).
    const closed = await closePaymentConsumerChannel();
    assert.match(closed, /\[ok\]/, 'exactly one consumer channel hit');
    await waitFor('a recovery', async () => (await recoveries()) === before + 1 || undefined, 10_000, 50);
    assert.equal(await paymentConsumers(), 1);
    assert.equal(await status('/readyz'), 200);
    assert.equal(fleet.logs.entries('consumer channel closed; recovering').filter((e) => e['queue'] === PAYMENT_QUEUE).length, 1);
    const downMs = fleet.logs
      .entries('consumer recovered')
      .filter((e) => e['queue'] === PAYMENT_QUEUE)
      .at(-1)?.['downMs'];
    console.log(`      [recovery] channel closed by the broker -> consuming again in ${String(downMs)} ms (as the service saw it)`);
    await orderEndsRight();
  });

  it('answers /healthz 503 once it cannot recover within its deadline (read permission revoked), and recovers once it returns', async () => {
    assert.equal(await status('/healthz'), 200);
    // Its topology is all there, but it may no longer consume: a refusal a restart (new credentials) might mend.
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '^$');
    assert.match(await closePaymentConsumerChannel(), /\[ok\]/);
    const lostAt = Date.now();
    await waitFor('payment unready', async () => (await status('/readyz')) === 503 || undefined, 5000, 50);
    assert.equal(await status('/healthz'), 200, 'live while inside the deadline');
    await waitFor('payment unhealthy', async () => (await status('/healthz')) === 503 || undefined, DEADLINE_MS + 10_000, 100);
    assert.ok(Date.now() - lostAt >= DEADLINE_MS, 'not before the deadline');
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    await waitFor(
      'payment healthy and ready again',
      async () => ((await status('/healthz')) === 200 && (await status('/readyz')) === 200) || undefined,
      15_000,
      100,
    );
    assert.equal(await paymentConsumers(), 1);
  });

  it('with a user that may not configure, waits for the operator to declare a deleted queue: not ready naming it, still live', async () => {
    // A service user as the definitions make it: no configure permission, so it cannot declare the queue again.
    await rabbitmqctl('set_permissions', '-p', vhost, user, '^$', '.*', '.*');
    const connection = await amqplib.connect(adminUrl);
    await (await connection.createChannel()).deleteQueue(PAYMENT_QUEUE);
    const deletedAt = Date.now();
    await waitFor('payment unready', async () => (await status('/readyz')) === 503 || undefined, 5000, 50);
    await new Promise((r) => setTimeout(r, DEADLINE_MS + 2000 - (Date.now() - deletedAt)));
    assert.equal(await status('/healthz'), 200, 'past the deadline, still live: a restart would not declare the queue');
    const ready = await http('GET', `${fleet.urls.ops.payment}/readyz`);
    assert.equal(ready.body.checks.topology, false);
    assert.ok((ready.body.details.topology.missing as string[]).includes(`queue ${PAYMENT_QUEUE}`), JSON.stringify(ready.body));
    assert.match(
      await (await fetch(`${fleet.urls.ops.payment}/metrics`)).text(),
      /^warren_topology_missing\{kind="queue",name="warren\.payment"[^}]*\} 1$/m,
    );
    // The operator's step (as `npm run topology -- apply` does, with its own credentials).
    const channel = await connection.createChannel();
    const { config } = fleet;
    const queues = SERVICE_DECLARATIONS.find((d) => d.name === 'payment')!.consumes;
    await declareTopology(channel, {
      exchange: config.eventsExchange,
      queues,
      retryDelaysMs: config.retryDelaysMs,
      queueType: config.queueType,
    });
    await connection.close();
    await waitFor('payment consuming again', async () => (await paymentConsumers()) === 1 || undefined, 10_000, 50);
    await waitFor('payment ready', async () => (await status('/readyz')) === 200 || undefined, 5000, 50);
    await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    await orderEndsRight();
  });
});
