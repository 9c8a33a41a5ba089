import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { DEFAULT_PUBLISH_BUFFER_BYTES } from '../config/config';
import { connect } from '../messaging/connection';
import { Publisher } from '../messaging/publisher';
import type { Logger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import type { TlsFiles } from '../config/tls-files';

export interface DlqPublisherOptions {
  amqpUrl: string;
  /** AMQP_TLS_* (with an amqps:// URL): the CA to trust and the client certificate. @defaultValue none */
  tls?: TlsFiles;
  /** The events exchange, which the publisher asserts like every Warren publisher does. */
  eventsExchange: string;
  /** How long a publish waits for its confirm, and how long the connection may take to open. */
  publishTimeoutMs: number;
  log: Logger;
}

/** The shared confirmed, mandatory publisher on a connection of its own, named `warren-dlq-publish`. */
export interface DlqPublisher {
  publisher: Publisher;
  close(): Promise<void>;
}

/**
 * Opens the publisher the DLQ tool replays and re-publishes through. Unlike a service, an operator's tool must
 * not wait for ever on a broker that is down: it gives up after `publishTimeoutMs`.
 */
export async function openDlqPublisher({
  amqpUrl,
  tls,
  eventsExchange,
  publishTimeoutMs,
  log,
}: DlqPublisherOptions): Promise<DlqPublisher> {
  const metrics = createMetrics('dlq');
  const manager: AmqpConnectionManager = connect(amqpUrl, 'publish', 'dlq', log, metrics, tls);
  const publisher = new Publisher(manager, {
    exchange: eventsExchange,
    // No queues: the tool works on the queues the services declared and never declares one of its own.
    topology: { exchange: eventsExchange, queues: [], retryDelaysMs: [], queueType: 'quorum' },
    timeoutMs: publishTimeoutMs,
    bufferLimit: 1000,
    bufferBytes: DEFAULT_PUBLISH_BUFFER_BYTES,
    appId: 'dlq',
    log,
    metrics,
  });
  const close = async () => {
    await publisher.close(publishTimeoutMs).catch(() => undefined);
    await manager.close().catch(() => undefined);
  };
  try {
    await withTimeout(publisher.ready(), publishTimeoutMs, `the publishing connection did not open within ${publishTimeoutMs} ms`);
  } catch (error) {
    await close();
    throw error;
  }
  return { publisher, close };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
