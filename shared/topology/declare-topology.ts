import type { Channel } from 'amqplib';
import { failuresExchangeName, planTopology, type Topology } from '../messaging/topology';

/**
 * Declares a topology whole, as its owner: exchanges, every queue of the plan and every binding. For a channel with
 * configure permission (the operator's, a test's own vhost); a queue whose arguments differ fails it with the
 * broker's 406 (`TopologyAdmin.apply` is the operator's drift-aware path).
 */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  for (const q of topology.queues) await channel.assertExchange(failuresExchangeName(q.name), 'direct', { durable: true });
  const version = channel.connection?.serverProperties?.version;
  for (const d of planTopology(topology, { ...(version ? { version } : {}) })) {
    await channel.assertQueue(d.name, d.options);
    for (const key of d.bindings) await channel.bindQueue(d.name, topology.exchange, key);
    await channel.bindQueue(d.name, d.failureBinding.exchange, d.failureBinding.routingKey);
  }
}
