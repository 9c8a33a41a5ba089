import type { Socket } from 'node:net';
import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import type { TlsFiles } from '../config/tls-files';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { coalesceWrites } from './coalesce-writes';

export type ConnectionRole = 'publish' | 'consume';

/**
 * One managed connection per role: publishing and consuming never share a TCP connection, so a publisher
 * blocked by a broker alarm cannot stall the acks of the consumers. With `tls` (an `amqps://` URL), the broker's
 * certificate must chain to its CA (the system's CAs are then not trusted) and the client certificate is presented.
 */
export function connect(
  urls: string | readonly string[],
  role: ConnectionRole,
  service: string,
  log: Logger,
  metrics: Metrics,
  tls?: TlsFiles,
): AmqpConnectionManager {
  // Several URLs are the nodes of one cluster: each (re)connect tries the next, so losing a node costs one reconnect.
  const connection = amqp.connect(typeof urls === 'string' ? [urls] : [...urls], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    // amqplib leaves Nagle's algorithm on: a frame written while an earlier one awaits its TCP ack (a publish is
    // three frames, an ack one) can wait for the broker's delayed ack, tens of milliseconds at low rates.
    connectionOptions: { noDelay: true, clientProperties: { connection_name: `warren-${service}-${role}` }, ...tls },
  });
  const gauge = metrics.connectionUp.labels(role);
  gauge.set(0);
  connection.on('connect', ({ connection: model, url }) => {
    // amqplib keeps its socket on the ChannelModel's (untyped) connection.
    coalesceWrites((model as unknown as { connection?: { stream?: Socket } }).connection?.stream);
    gauge.set(1);
    // Which node, by host only (never the credentials): with a cluster, where a connection landed matters.
    log.info({ role, node: typeof url === 'string' ? new URL(url).host : url?.hostname }, 'amqp connected');
  });
  connection.on('disconnect', ({ err }) => {
    gauge.set(0);
    log.warn({ role, err: err?.message }, 'amqp disconnected; reconnecting');
  });
  connection.on('connectFailed', ({ err }) => log.warn({ role, err: err?.message }, 'amqp connect failed; retrying'));
  connection.on('blocked', ({ reason }) => log.warn({ role, reason }, 'amqp connection blocked by broker'));
  connection.on('unblocked', () => log.info({ role }, 'amqp connection unblocked'));
  return connection;
}
