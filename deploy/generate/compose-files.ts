import type { SecretVariable } from '../../shared/config/config';
import { COMPOSE_FALLBACK_TOKEN_KEYS } from '../../shared/lifecycle/require-token-keys';
import { secretsOf, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { brokerUser, envName, passwordEnv } from './broker-definitions';
import { replaceRegion } from './generated-region';
import { redisPasswordEnv, redisUser } from './redis-acl';

// The service blocks of the three compose files, and the passwords their one-shots render, from the declarations:
// a new service gets its block, its broker and Redis users' passwords and its secrets with nothing written by hand.

/** What compose gives a secret a service declares, when .env does not set it, and why. */
const SECRET_FALLBACKS: Record<SecretVariable, { value: string; comment?: string }> = {
  PAYMENT_TOKEN_KEYS: {
    value: `\${PAYMENT_TOKEN_KEYS:-${COMPOSE_FALLBACK_TOKEN_KEYS}}`,
    comment: 'Seals (order) and opens (payment) payment tokens. Dev-only default: set your own in .env (docs/security.md).',
  },
  AUTH_JWT_SECRET: {
    value: '${AUTH_JWT_SECRET:-}',
    comment: 'Used with AUTH_MODE=hs256 only: verifies customer tokens.',
  },
  OPS_TOKEN: { value: '${OPS_TOKEN:-}' },
};

const rabbitPassword = (name: string): string => `\${${passwordEnv(name)}:-dev-only-${name}}`;
const redisPassword = (name: string): string => `\${${redisPasswordEnv(name)}:-dev-only-redis-${name}}`;

function secretLines(service: ServiceDeclaration): string[] {
  return secretsOf(service).flatMap((secret) => {
    const { value, comment } = SECRET_FALLBACKS[secret];
    return [...(comment ? [`    # ${comment}`] : []), `    ${secret}: ${value}`];
  });
}

/** Its own settings, each tunable from .env, with the declared default. */
function settingLines(service: ServiceDeclaration): string[] {
  return Object.entries(service.settings ?? {}).flatMap(([name, spec]) => [
    ...(spec.desc ? [`    # ${spec.desc}`] : []),
    `    ${name}: \${${name}:-${String(spec.default)}}`,
  ]);
}

/** How one compose file reaches the broker and Redis, and how it quotes. */
interface Flavour {
  quote: string;
  /** The build context, relative to the file (the first service builds the image for all). */
  context: string;
  amqpUrl(service: string): string;
  /** Absent: REDIS_URL comes from the shared environment (the cluster's Sentinel setup). */
  redisUrl?(service: string): string;
  amqpComment?: string;
}

const NODES = ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'];

const SINGLE_NODE: Flavour = {
  quote: '"',
  context: '.',
  amqpUrl: (s) => `amqp://${brokerUser(s)}:${rabbitPassword(s)}@rabbitmq:5672/warren`,
  redisUrl: (s) => `redis://${redisUser(s)}:${redisPassword(s)}@redis:6379`,
};

const CLUSTER: Flavour = {
  quote: "'",
  context: '../..',
  amqpUrl: (s) => NODES.map((node) => `amqp://${brokerUser(s)}:${rabbitPassword(s)}@${node}:5672/warren`).join(','),
  amqpComment: 'Every node, in order: a (re)connect tries the next one, so losing a node costs one reconnect.',
};

/** docker-compose.yml's and the cluster file's service blocks. */
export function serviceBlocks(services: readonly ServiceDeclaration[], flavour: Flavour): string[] {
  const q = flavour.quote;
  return services.flatMap((s, i) => [
    ...(i > 0 ? [''] : []),
    `${s.name}:`,
    '  <<: *warren-service',
    ...(i === 0
      ? [
          '  # The one image every service runs, built here once; compose knows the others use it.',
          '  build:',
          `    context: ${flavour.context}`,
          '    args:',
          '      # A registry mirror (or a local image) for the Node.js base, e.g. NODE_IMAGE=mirror.example/node:24-alpine.',
          '      NODE_IMAGE: ${NODE_IMAGE:-node:24.22.3-alpine}',
        ]
      : []),
    `  command: [${q}node${q}, ${q}dist/workers/run.js${q}, ${q}${s.name}${q}]`,
    '  environment:',
    '    <<: *warren-env',
    ...(flavour.amqpComment ? [`    # ${flavour.amqpComment}`] : []),
    `    AMQP_URL: ${flavour.amqpUrl(s.name)}`,
    ...(flavour.redisUrl ? [`    REDIS_URL: ${flavour.redisUrl(s.name)}`] : []),
    ...settingLines(s),
    ...secretLines(s),
    ...(s.api
      ? [
          '  # Its public API on the host; ops ports stay on the compose network.',
          '  ports:',
          `    - ${q}\${HOST_BIND:-127.0.0.1}:\${${envName(s.name)}_HOST_PORT:-${s.api.default}}:${s.api.default}${q}`,
        ]
      : []),
  ]);
}

/** deploy/tls/docker-compose.tls.yml: each service's certificates and its amqps/rediss URLs. */
export function tlsServiceBlocks(services: readonly ServiceDeclaration[]): string[] {
  return services.flatMap((s, i) => [
    ...(i > 0 ? [''] : []),
    `${s.name}:`,
    '  volumes:',
    '    - ./deploy/tls/dev:/etc/warren/tls:ro',
    '  environment:',
    '    <<: *tls-files',
    `    AMQP_URL: amqps://${brokerUser(s.name)}:${rabbitPassword(s.name)}@rabbitmq:5671/warren`,
    `    REDIS_URL: rediss://${redisUser(s.name)}:${redisPassword(s.name)}@redis:6379`,
  ]);
}

/** The broker one-shot's environment: each service user's password (the operator's is written by hand). */
export const brokerPasswordLines = (services: readonly ServiceDeclaration[]): string[] =>
  services.map((s) => `${passwordEnv(s.name)}: ${rabbitPassword(s.name)}`);

/** The Redis ACL one-shot's environment: each service user's password. */
export const redisPasswordLines = (services: readonly ServiceDeclaration[]): string[] =>
  services.map((s) => `${redisPasswordEnv(s.name)}: ${redisPassword(s.name)}`);

/** docker-compose.yml: the services, and the passwords of the broker and Redis one-shots. */
export function composeFile(services: readonly ServiceDeclaration[], current: string): string {
  const file = 'docker-compose.yml';
  let text = replaceRegion(current, 'services', serviceBlocks(services, SINGLE_NODE), file);
  text = replaceRegion(text, 'broker passwords', brokerPasswordLines(services), file);
  return replaceRegion(text, 'redis passwords', redisPasswordLines(services), file);
}

/** deploy/cluster/docker-compose.cluster.yml: the services and the broker one-shot's passwords (no Redis users). */
export function clusterComposeFile(services: readonly ServiceDeclaration[], current: string): string {
  const file = 'deploy/cluster/docker-compose.cluster.yml';
  const text = replaceRegion(current, 'services', serviceBlocks(services, CLUSTER), file);
  return replaceRegion(text, 'broker passwords', brokerPasswordLines(services), file);
}

export function tlsComposeFile(services: readonly ServiceDeclaration[], current: string): string {
  return replaceRegion(current, 'services', tlsServiceBlocks(services), 'deploy/tls/docker-compose.tls.yml');
}

/** .env.example: a placeholder password per service user, on the broker and on Redis. */
export function envExample(services: readonly ServiceDeclaration[], current: string): string {
  const text = replaceRegion(
    current,
    'broker passwords',
    services.map((s) => `${passwordEnv(s.name)}=change-me-${s.name}`),
    '.env.example',
  );
  return replaceRegion(
    text,
    'redis passwords',
    services.map((s) => `${redisPasswordEnv(s.name)}=change-me-redis-${s.name}`),
    '.env.example',
  );
}
