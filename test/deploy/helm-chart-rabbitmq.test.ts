import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SERVICE_NAMES } from '../../workers/registry';
import { renderAll } from './chart-renders';
import { byKind, type Manifest } from './tools';

// The chart's RabbitmqCluster loads the same definitions as compose: every service user and the admin, no guest,
// and with password hashes, no password anywhere but the credentials Secret.
describe('deploy: Helm chart', function () {
  this.timeout(60_000);
  let rendered: Record<string, Manifest[]> = {};

  before(async () => {
    rendered = await renderAll();
  });

  it('loads the same RabbitMQ definitions as compose into the RabbitmqCluster', () => {
    const manifests = rendered['all features, KEDA, RabbitmqCluster'] ?? [];
    const [cluster] = byKind(manifests, 'RabbitmqCluster');
    assert.equal(cluster?.spec.replicas, 3);
    assert.match(cluster.spec.rabbitmq.additionalConfig, /^load_definitions = \/etc\/rabbitmq\/definitions\/definitions\.json$/m);
    const secretName = cluster.spec.override.statefulSet.spec.template.spec.volumes[0].secret.secretName;
    const definitions = JSON.parse(
      byKind(manifests, 'Secret').find((s) => s.metadata.name === secretName)?.stringData?.['definitions.json'] ?? '{}',
    );
    assert.deepEqual(
      definitions.users.map((u: { name: string }) => u.name),
      [...SERVICE_NAMES.map((s) => `warren-${s}`), 'warren-admin'],
    );
    for (const user of definitions.users) assert.ok(user.password && !user.password_env, `${user.name}: password not filled in`);
    assert.ok(!definitions.users.some((u: { name: string }) => u.name === 'guest'));
  });

  it('with rabbitmqCluster.passwordHashes: no password in the definitions, and each hash is of the password in its URL', () => {
    const manifests = rendered['all features, KEDA, RabbitmqCluster with password hashes'] ?? [];
    const secrets = byKind(manifests, 'Secret');
    const definitions = JSON.parse(
      secrets.find((s) => s.metadata.name.endsWith('-rabbitmq-definitions'))?.stringData?.['definitions.json'] ?? '{}',
    );
    const credentials = secrets.find((s) => s.metadata.name.endsWith('-credentials'))?.stringData ?? {};
    assert.equal(definitions.users.length, SERVICE_NAMES.length + 1);
    for (const user of definitions.users) {
      assert.deepEqual(Object.keys(user).sort(), ['hashing_algorithm', 'name', 'password_hash', 'tags'], user.name);
      assert.equal(user.hashing_algorithm, 'rabbit_password_hashing_sha256');
      // RabbitMQ's sha256 hash: base64(salt ++ sha256(salt ++ password)), a 4-byte salt.
      const key = user.name === 'warren-admin' ? 'topology-amqp-url' : `${user.name.replace('warren-', '')}-amqp-url`;
      const url = new URL(credentials[key] ?? 'amqp://none');
      assert.equal(decodeURIComponent(url.username), user.name, key);
      const hash = Buffer.from(user.password_hash, 'base64');
      const digest = createHash('sha256').update(Buffer.concat([hash.subarray(0, 4), Buffer.from(decodeURIComponent(url.password))]));
      assert.deepEqual(hash.subarray(4), digest.digest(), `${user.name}: the hash is not of the password in ${key}`);
    }
    assert.doesNotMatch(JSON.stringify(manifests.filter((m) => !m.metadata.name.endsWith('-credentials'))), /not-a-real-password-/);
  });
});
