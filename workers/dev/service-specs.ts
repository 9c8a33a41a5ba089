/**
 * What the launcher knows about each service it may stand in for: the variable naming it, the services' own default
 * for that variable, the container to run and how to tell that the service inside really answers.
 */
import { exchange } from './tcp-probes';

export type Kind = 'rabbitmq' | 'redis';

export interface ServiceSpec {
  kind: Kind;
  label: string;
  envVar: 'AMQP_URL' | 'REDIS_URL';
  /** The services' own defaults (shared/config/config.ts), so "unset" means the same thing here as there. */
  defaultUrl: string;
  protocol: string;
  defaultPort: number;
  containerPort: number;
  /** Arguments after the image. Redis: no protected mode (connections arrive from Docker's proxy, not loopback), no disk. */
  command: string[];
  /** RabbitMQ takes 10-20 s to boot, a stand-in on a busy machine longer. */
  startupTimeoutMs: number;
  /** True once the service itself answers: Docker's port proxy accepts TCP before the process inside listens. */
  ready(host: string, port: number): Promise<boolean>;
}

export const RABBITMQ: ServiceSpec = {
  kind: 'rabbitmq',
  label: 'RabbitMQ',
  envVar: 'AMQP_URL',
  defaultUrl: 'amqp://guest:guest@127.0.0.1:5672',
  protocol: 'amqp:',
  defaultPort: 5672,
  containerPort: 5672,
  command: [],
  startupTimeoutMs: 180_000,
  // The AMQP 0-9-1 protocol header; a broker answers with a Connection.Start method frame (frame type 1).
  ready: (host, port) => exchange(host, port, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), (reply) => reply[0] === 1),
};

export const REDIS: ServiceSpec = {
  kind: 'redis',
  label: 'Redis',
  envVar: 'REDIS_URL',
  defaultUrl: 'redis://127.0.0.1:6379',
  protocol: 'redis:',
  defaultPort: 6379,
  containerPort: 6379,
  command: ['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
  startupTimeoutMs: 30_000,
  ready: (host, port) => exchange(host, port, Buffer.from('PING\r\n'), (reply) => reply.toString('latin1').startsWith('+PONG')),
};

/**
 * RabbitMQ's HTTP ports, published too when they are free on 127.0.0.1: the management UI for people, and the
 * Prometheus endpoint the observability suite scrapes (test/observability/prometheus-harness.ts).
 */
export const RABBITMQ_EXTRA_PORTS = [15672, 15692];
