import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import type { TopologyProbe } from './topology';
import { DriftTracker } from './topology-drift';

/**
 * The probe a runtime gives its topology: declarations are tried on a fresh channel of the connection being set up
 * (the publisher's or the consumer's), so a refusal closes only that channel.
 */
export function topologyProbe(connections: readonly AmqpConnectionManager[], drift = new DriftTracker()): TopologyProbe {
  return {
    drift,
    async openChannel(beside: Channel): Promise<Channel> {
      const models = connections.map((c) => c.connection).filter((m) => m !== undefined);
      const model = models.find((m) => m.connection === beside.connection) ?? models[0];
      if (!model) throw new Error('no broker connection to declare the topology on');
      return model.createChannel();
    },
  };
}
