import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import { H } from '../../shared/messaging/retry-policy';
import { failuresExchangeName, RETURN_ROUTING_KEY, type Topology } from '../../shared/messaging/topology';
import { declareTopology } from '../../shared/messaging/topology-check';
import { TopologyAdmin } from '../../shared/topology/topology-admin';
import { createVhost, deleteVhost } from '../helpers/broker';

/**
 * `topology migrate` re-publishes through the default exchange, a trusted path (trusted-headers.ts): a message
 * that came in through the events exchange with forged x-warren-* headers must not come back out of the migration
 * with them believed, while the queue's own retry copies keep theirs.
 */
describe('topology migrate never launders a forged header (real RabbitMQ)', function () {
  this.timeout(30_000);
  let vhost: string;
  let url: string;
  const topology: Topology = {
    exchange: 'warren.events',
    queues: [{ name: 'q', bindings: ['order.placed'] }],
    retryDelaysMs: [60_000],
    queueType: 'classic',
  };

  before(async () => ({ vhost, url } = await createVhost('warren-migrate')));
  after(async () => deleteVhost(vhost));

  it("drops x-warren-* from what came through the events exchange, keeps them on copies from the queue's failures exchange", async () => {
    const connection = await amqplib.connect(url);
    const channel = await connection.createConfirmChannel();
    await declareTopology(channel, topology);
    const forged = { [H.attempt]: 3, [H.firstFailureAt]: '1970-01-01T00:00:00.000Z', 'x-warren-replay-count': 7, other: 'kept' };
    channel.publish('warren.events', 'order.placed', Buffer.from('{"forged":true}'), { headers: forged, messageId: 'forged' });
    channel.publish(failuresExchangeName('q'), RETURN_ROUTING_KEY, Buffer.from('{"own":true}'), {
      headers: { [H.attempt]: 2 },
      messageId: 'own',
    });
    await channel.waitForConfirms();

    const admin = await TopologyAdmin.open(url, [{ service: 's', topology }]);
    try {
      const result = await admin.migrate('q');
      assert.equal(result.moved, 2);
    } finally {
      await admin.close();
    }
    const byId: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < 2; i++) {
      const message = await channel.get('q', { noAck: true });
      assert.ok(message, 'both messages are back in q');
      byId[message.properties.messageId as string] = message.properties.headers ?? {};
    }
    assert.deepEqual(
      Object.keys(byId['forged']!).filter((k) => k.startsWith('x-warren-')),
      [],
      'forged headers dropped',
    );
    assert.equal(byId['forged']!['other'], 'kept', 'other headers travel');
    assert.equal(byId['own']![H.attempt], 2, "the queue's own retry copy keeps its attempt count");
    await connection.close();
  });
});
