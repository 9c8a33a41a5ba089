import { Publisher, type PublisherOptions } from '../../../shared/messaging/publisher';
import type { Topology } from '../../../shared/messaging/topology';
import { FakeConnectionManager } from './fake-connection-manager';
import { quietLog, testMetrics } from './fixtures';

/** The topology the publisher specs declare: one queue bound to every key. */
export const PUBLISHER_TOPOLOGY: Topology = {
  exchange: 'test.events',
  queues: [{ name: 'q', bindings: ['#'] }],
  retryDelaysMs: [],
  queueType: 'quorum',
};

/** A Publisher on a fake broker (confirm timeout 2 s, a buffer of 100 messages / 1 MiB), set up and connected. */
export async function publisherWith(options: Partial<PublisherOptions> = {}) {
  const amqp = new FakeConnectionManager();
  const metrics = testMetrics();
  const publisher = new Publisher(amqp.manager, {
    exchange: 'test.events',
    topology: PUBLISHER_TOPOLOGY,
    timeoutMs: 2000,
    bufferLimit: 100,
    bufferBytes: 1 << 20,
    appId: 'test-app',
    log: quietLog,
    metrics,
    ...options,
  });
  await publisher.ready();
  return { publisher, broker: amqp.channel('publisher'), wrapper: amqp.wrappers.get('publisher')!, metrics, amqp };
}
