import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import { MissingTopology, type TopologyLook } from './topology-check';

/**
 * How a runtime looks at its topology: on a fresh channel of the connection being set up (the publisher's or the
 * consumer's), so a 404 or a refusal closes only that channel.
 */
export function topologyLook(connections: readonly AmqpConnectionManager[], missing = new MissingTopology()): Required<TopologyLook> {
  return {
    missing,
    async openChannel(beside: Channel): Promise<Channel> {
      const models = connections.map((c) => c.connection).filter((m) => m !== undefined);
      const model = models.find((m) => m.connection === beside.connection) ?? models[0];
      if (!model) throw new Error('no broker connection to look at the topology on');
      return model.createChannel();
    },
  };
}
