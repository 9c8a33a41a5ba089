import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { mintToken, type TokenOptions } from '../helpers/tokens';
import { exec, type Kube } from './cluster';

/** The audience the docs give the chart (config.AUTH_AUDIENCE); tokens are minted for it. */
export const AUDIENCE = 'warren-orders';

/** What the chart is installed against, and what docs/deploy.md's Helm blocks read from the environment. */
export interface Backing {
  /** RABBITMQ_<SERVICE>_PASSWORD, RABBITMQ_ADMIN_PASSWORD, REDIS_PASSWORD, AUTH_JWKS_URL, AUTH_AUDIENCE. */
  env: Record<string, string>;
  /** A customer's bearer token, signed with the identity provider's private key (one hour). */
  token(customerId: string): Promise<string>;
}

const FIXTURES = path.join(__dirname, 'fixtures');
const DEFINITIONS_TEMPLATE = 'deploy/helm/warren/files/rabbitmq/definitions.template.json';
/** URL-safe, as the docs ask of every password (they go into URLs unescaped). */
const password = (who: string) => `${who}-${randomBytes(18).toString('base64url')}`;

/**
 * Namespace `shop` (the docs') with what docs/deploy.md assumes exists: RabbitMQ loaded with the definitions rendered
 * from the chart's template, Redis with a password, and an identity provider serving the public half of a fresh ES256
 * key. Fails if the namespace exists: the test deletes it at the end, so it must be the test's own. The namespace
 * enforces Pod Security `restricted`, which the chart's pods and the fixtures meet.
 */
export async function setUpBacking(kube: Kube, dir: string): Promise<Backing> {
  const existing = await kube.kubectl(['get', 'namespace', kube.namespace, '--ignore-not-found', '-o', 'name']);
  if (existing.trim())
    throw new Error(
      `namespace ${kube.namespace} already exists: the test makes it and deletes it at the end, so delete it (or use another cluster)`,
    );
  await kube.kubectl(['create', 'namespace', kube.namespace]);
  await kube.kubectl([
    'label',
    'namespace',
    kube.namespace,
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/warn=restricted',
  ]);

  const env: Record<string, string> = {
    RABBITMQ_ORDER_PASSWORD: password('order'),
    RABBITMQ_INVENTORY_PASSWORD: password('inventory'),
    RABBITMQ_PAYMENT_PASSWORD: password('payment'),
    RABBITMQ_ADMIN_PASSWORD: password('admin'),
    REDIS_PASSWORD: password('redis'),
    AUTH_JWKS_URL: `http://idp.${kube.namespace}.svc:8080/.well-known/jwks.json`,
    AUTH_AUDIENCE: AUDIENCE,
  };
  const file = (name: string, content: string) => {
    writeFileSync(path.join(dir, name), content, { mode: 0o600 });
    return path.join(dir, name);
  };

  const definitions = path.join(dir, 'definitions.json');
  await exec(process.execPath, ['deploy/rabbitmq/render-definitions.mjs', DEFINITIONS_TEMPLATE, definitions], {
    env: { ...process.env, ...env },
  });
  await kube.kubectl(['create', 'configmap', 'rabbitmq-config', '--from-file=20-warren.conf=deploy/rabbitmq/rabbitmq.conf']);
  await kube.kubectl(['create', 'secret', 'generic', 'rabbitmq-definitions', `--from-file=definitions.json=${definitions}`]);
  await kube.kubectl([
    'create',
    'secret',
    'generic',
    'redis-password',
    `--from-file=password=${file('redis-password', env['REDIS_PASSWORD']!)}`,
  ]);

  const { generateKeyPair, exportJWK } = await import('jose');
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const key: NonNullable<TokenOptions['key']> = { privateKey, kid: `k8s-test-${randomUUID()}`, alg: 'ES256' };
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: key.kid, alg: key.alg, use: 'sig' }] };
  await kube.kubectl(['create', 'configmap', 'idp-jwks', `--from-file=jwks.json=${file('jwks.json', JSON.stringify(jwks))}`]);

  await kube.kubectl(['apply', ...['rabbitmq', 'redis', 'idp'].flatMap((f) => ['-f', path.join(FIXTURES, `${f}.yaml`)])]);
  await kube.kubectl(['wait', '--for=condition=Available', 'deployment/rabbitmq', 'deployment/redis', 'deployment/idp', '--timeout=240s'], {
    timeoutMs: 250_000,
  });
  return { env, token: (customerId) => mintToken(customerId, { key, audience: AUDIENCE, expiresIn: 3600 }) };
}
