import { createHash } from 'node:crypto';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { brokerUser } from './broker-definitions';
import { replaceRegion } from './generated-region';
import { redisUser } from './redis-acl';

// The chart's CI values (deploy/helm/warren/ci/): dummy credentials for every service, so `helm template` and the
// deploy tests render a new service's Deployment and users without a hand edit. Never for a real install.

/** The dummy password of a service in the chart-managed-broker values: `not-a-real-password-<name>`. */
export const dummyPassword = (name: string): string => `not-a-real-password-${name}`;

/**
 * RabbitMQ's password hash (rabbit_password_hashing_sha256, as deploy/rabbitmq/render-definitions.mjs --hash makes
 * it) with a salt derived from the password, so that regenerating the file changes nothing.
 */
export function stableRabbitHash(password: string): string {
  const salt = createHash('sha256').update(`warren-ci-salt:${password}`).digest().subarray(0, 4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

const region = (current: string, file: string, id: string, lines: string[]): string => replaceRegion(current, id, lines, file);

/** ci/all-features-hpa-values.yaml: an external broker and Redis, one URL per service user. */
export function hpaValues(services: readonly ServiceDeclaration[], current: string): string {
  const file = 'ci/all-features-hpa-values.yaml';
  const text = region(
    current,
    file,
    'amqp urls',
    services.map((s) => `${s.name}: amqp://${brokerUser(s.name)}:not-a-real-password@rabbitmq:5672/warren`),
  );
  return region(
    text,
    file,
    'redis urls',
    services.map((s) => `${s.name}: rediss://${redisUser(s.name)}:not-a-real-password@redis-master:6379`),
  );
}

/** ci/all-features-keda-values.yaml: the chart-managed broker's passwords. */
export function kedaValues(services: readonly ServiceDeclaration[], current: string): string {
  return region(
    current,
    'ci/all-features-keda-values.yaml',
    'broker passwords',
    services.map((s) => `${s.name}: ${dummyPassword(s.name)}`),
  );
}

/** ci/rabbitmq-password-hashes-values.yaml: the same passwords as hashes, and the URLs that carry them. */
export function passwordHashValues(services: readonly ServiceDeclaration[], current: string): string {
  const file = 'ci/rabbitmq-password-hashes-values.yaml';
  const text = region(
    current,
    file,
    'password hashes',
    services.map((s) => `${s.name}: ${stableRabbitHash(dummyPassword(s.name))}`),
  );
  return region(
    text,
    file,
    'amqp urls',
    services.map((s) => `${s.name}: amqp://${brokerUser(s.name)}:${dummyPassword(s.name)}@warren-rabbitmq.shop.svc:5672/warren`),
  );
}
