import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import type { Channel } from 'amqplib';
import { ensureTopology, MissingTopology } from '../../../shared/messaging/topology-check';
import {
  DEAD_LETTER_ROUTING_KEY,
  deadLetterQueueName,
  failuresExchangeName,
  RETURN_ROUTING_KEY,
  retryQueueName,
  retryRoutingKey,
} from '../../../shared/messaging/topology';
import { SERVICE_NAMES } from '../../../workers/registry';
import { rabbitmqctl } from '../../helpers/broker';
import { waitFor } from '../../helpers/wait';
import { allowed, publish } from '../broker-access';
import type { PermissionsFixture } from './fixture';
import { EXCHANGE, getOne, publishesOf, queueOf, refusedAs, topologyOf } from './service-permissions';

/**
 * What each service user may do with its own share of the topology (look at all of it, publish its events,
 * copy a failure to its own retry tier and DLQ) and every route around those permissions it is refused.
 */
export function ownPermissionSteps(f: PermissionsFixture): void {
  const { connections } = f;

  it('creates one vhost with one user per service plus an operator, and no guest access', async () => {
    const listed = await rabbitmqctl('list_permissions', '-p', f.defs.vhost);
    const users = listed
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t')[0])
      .sort();
    assert.deepEqual(users, Object.values(f.defs.users).sort());
    assert.ok(!users.includes('guest'));
    await assert.rejects(amqplib.connect(f.defs.url('guest', 'guest')), 'guest opened the Warren vhost');
  });

  it('lets each service find its whole topology by looking (passive declares need no permission)', async () => {
    for (const service of SERVICE_NAMES) {
      const missing = new MissingTopology();
      const look = { missing, openChannel: () => connections[service].createChannel() };
      await allowed(connections[service], (ch) => ensureTopology(ch as unknown as Channel, topologyOf(service), look, 'test'));
      assert.deepEqual(missing.list(), [], service);
    }
  });

  it('refuses every service user every route around its permissions: no declaration, binding or deletion at all', async () => {
    const refusals: string[] = [];
    const expectRefused = refusedAs(connections, refusals);
    for (const service of SERVICE_NAMES) {
      const own = topologyOf(service).queues[0]!;
      const failures = failuresExchangeName(own.name);
      // The review's first route: bind the events exchange into its own failures exchange (with a key it consumes, which
      // the old topic permissions let it bind), then publish there.
      await expectRefused(service, `bind ${EXCHANGE} into ${failures}`, (ch) => ch.bindExchange(failures, EXCHANGE, own.bindings[0]!));
      // The second: a queue of its own whose dead letters go to the events exchange under any routing key.
      await expectRefused(service, 'declare a queue dead-lettering into the events exchange', (ch) =>
        ch.assertQueue(`${own.name}.retry.987654`, {
          durable: true,
          arguments: { 'x-message-ttl': 1, 'x-dead-letter-exchange': EXCHANGE, 'x-dead-letter-routing-key': 'order.placed' },
        }),
      );
      await expectRefused(service, `delete ${EXCHANGE}`, (ch) => ch.deleteExchange(EXCHANGE));
      await expectRefused(service, `delete ${failures}`, (ch) => ch.deleteExchange(failures));
      await expectRefused(service, `delete ${own.name}`, (ch) => ch.deleteQueue(own.name));
      await expectRefused(service, `declare ${EXCHANGE}`, (ch) => ch.assertExchange(EXCHANGE, 'topic', { durable: true }));
      await expectRefused(service, `bind ${own.name} to its own key ${own.bindings[0]}`, (ch) =>
        ch.bindQueue(own.name, EXCHANGE, own.bindings[0]!),
      );
      await expectRefused(service, `unbind ${own.name}`, (ch) => ch.unbindQueue(own.name, EXCHANGE, own.bindings[0]!));
      await expectRefused(service, `bind ${own.name} to its own failures exchange`, (ch) => ch.bindQueue(own.name, failures, 'forged'));
    }
    console.log(`      refused with 403 ACCESS_REFUSED (${refusals.length}): ${refusals.join('; ')}`);
    // And the events still flow: the bindings the operator made are all there.
    await allowed(connections.order, async (ch) => publish(ch, EXCHANGE, 'order.placed'));
    await getOne(connections.payment, queueOf('payment'), 'order.placed');
  });

  it('carries the saga: order.placed reaches inventory and payment; their outcomes reach order', async () => {
    await allowed(connections.order, async (ch) => publish(ch, EXCHANGE, 'order.placed'));
    await getOne(connections.inventory, queueOf('inventory'), 'order.placed');
    await getOne(connections.payment, queueOf('payment'), 'order.placed');
    await getOne(connections.order, queueOf('order'), 'order.placed');
    await allowed(connections.inventory, async (ch) => publish(ch, EXCHANGE, 'inventory.reserved'));
    await allowed(connections.payment, async (ch) => publish(ch, EXCHANGE, 'payment.captured'));
    await getOne(connections.order, queueOf('order'), 'inventory.reserved');
    await getOne(connections.order, queueOf('order'), 'payment.captured');
    for (const service of SERVICE_NAMES) {
      for (const key of publishesOf(service)) await allowed(connections[service], async (ch) => publish(ch, EXCHANGE, key));
    }
  });

  it('lets each service copy a failed message to its own retry tier and DLQ (its own failures exchange)', async () => {
    const [delay] = topologyOf('order').retryDelaysMs;
    for (const service of SERVICE_NAMES) {
      const queue = queueOf(service);
      await allowed(connections[service], async (ch) => publish(ch, failuresExchangeName(queue), retryRoutingKey(delay!)));
      await allowed(connections[service], async (ch) => publish(ch, failuresExchangeName(queue), DEAD_LETTER_ROUTING_KEY));
      // The retry copy waits out its tier, which then hands it back to the service's own queue, and only that one.
      const back = await connections[service].createChannel();
      try {
        const death = await waitFor(
          `the retry copy back in ${queue} from ${retryQueueName(queue, delay!)}`,
          async () => {
            const message = await back.get(queue, { noAck: false });
            if (!message) return undefined;
            back.ack(message);
            const [last] = (message.properties.headers?.['x-death'] ?? []) as amqplib.XDeath[];
            return message.fields.routingKey === RETURN_ROUTING_KEY && last?.queue === retryQueueName(queue, delay!) ? last : undefined;
          },
          10_000,
          50,
        );
        assert.equal(death.reason, 'expired', 'it left the tier when its delay ran out');
        assert.deepEqual(death['routing-keys'], [retryRoutingKey(delay!)], 'it reached the tier through the failures exchange');
      } finally {
        await back.close();
      }
      // The DLQ is the operator's to read (the DLQ tool).
      await getOne(f.operator, deadLetterQueueName(queue), DEAD_LETTER_ROUTING_KEY);
      // What a KEDA rabbitmq trigger does with the service's own URL.
      await allowed(connections[service], (ch) => ch.checkQueue(queue));
    }
  });
}
