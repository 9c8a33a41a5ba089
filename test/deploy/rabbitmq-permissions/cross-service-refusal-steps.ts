import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import { DEAD_LETTER_ROUTING_KEY, deadLetterQueueName, failuresExchangeName } from '../../../shared/messaging/topology';
import { SERVICE_NAMES } from '../../../workers/registry';
import { publish, refusal } from '../broker-access';
import type { PermissionsFixture } from './fixture';
import { EXCHANGE, publishesOf, queueOf, refusedAs, topologyOf } from './service-permissions';

/**
 * What no service user may do to another's queues, events, password or failures exchange, nor by name through
 * the default exchange.
 */
export function crossServiceRefusalSteps(f: PermissionsFixture): void {
  const { connections } = f;

  it("refuses every service another service's queues and events with ACCESS_REFUSED (403)", async () => {
    const refusals: string[] = [];
    const expectRefused = refusedAs(connections, refusals);
    for (const service of SERVICE_NAMES) {
      const own = topologyOf(service).queues[0]!;
      for (const other of SERVICE_NAMES.filter((s) => s !== service)) {
        const queue = queueOf(other);
        await expectRefused(service, `consume ${queue}`, (ch) => ch.consume(queue, () => undefined));
        await expectRefused(service, `get from ${deadLetterQueueName(queue)}`, (ch) => ch.get(deadLetterQueueName(queue)));
        await expectRefused(service, `declare ${queue}`, (ch) =>
          ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }),
        );
        await expectRefused(service, `purge ${queue}`, (ch) => ch.purgeQueue(queue));
        await expectRefused(service, `publish ${publishesOf(other)[0]}`, async (ch) => publish(ch, EXCHANGE, publishesOf(other)[0]!));
      }
      const foreignBinding = service === 'order' ? 'order.confirmed' : 'payment.captured';
      if (!own.bindings.includes(foreignBinding)) {
        await expectRefused(service, `bind ${own.name} to ${foreignBinding}`, (ch) => ch.bindQueue(own.name, EXCHANGE, foreignBinding));
      }
      await expectRefused(service, 'publish to amq.topic', async (ch) => publish(ch, 'amq.topic', publishesOf(service)[0]!));
      await expectRefused(service, 'declare another exchange', (ch) => ch.assertExchange('warren.rogue', 'topic'));
    }
    console.log(`      refused with 403 ACCESS_REFUSED (${refusals.length}): ${refusals.join('; ')}`);
  });

  it("refuses a login with another service's password", async () => {
    await assert.rejects(amqplib.connect(f.defs.url('warren-inventory', f.defs.passwords['warren-payment'])), /ACCESS_REFUSED|403/);
  });

  it("closes the default-exchange gap: no service can push into a queue by name, nor into another's failures exchange", async () => {
    // Copies go through each service's own failures exchange, so no user holds write on amq.default.
    for (const service of SERVICE_NAMES) {
      for (const other of SERVICE_NAMES) {
        const error = await refusal(connections[service], async (ch) => publish(ch, '', queueOf(other)));
        assert.equal(error.code, 403, `${service} publishing to ${queueOf(other)} by name`);
        if (other === service) continue;
        const foreign = await refusal(connections[service], async (ch) =>
          publish(ch, failuresExchangeName(queueOf(other)), DEAD_LETTER_ROUTING_KEY),
        );
        assert.equal(foreign.code, 403, `${service} publishing to ${failuresExchangeName(queueOf(other))}`);
      }
    }
  });
}
