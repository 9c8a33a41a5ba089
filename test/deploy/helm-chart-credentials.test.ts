import assert from 'node:assert/strict';
import { FILE_SECRET_VARIABLES } from '../../shared/config/secret-files';
import { settingVariables } from '../../shared/config/settings';
import { secretsOf, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { FLEET_CONFIG_VARIABLES, SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { credentialKeys, podsOf, renderAll, RENDERS } from './chart-renders';
import { mountedCredentials, projectedKeys, secretKeyRefs } from './pod-credentials';
import { byKind, type Manifest } from './tools';

// How each pod gets its credentials and settings in every render: its own Secret keys as read-only files, never an
// environment variable, exactly the variables the services read, and with TLS on, the certificates and own users.
describe('deploy: Helm chart', function () {
  this.timeout(60_000);
  let rendered: Record<string, Manifest[]> = {};

  before(async () => {
    rendered = await renderAll();
  });

  for (const name of Object.keys(RENDERS)) {
    describe(name, () => {
      it("mounts each pod's credentials as read-only files only its non-root user reads (0440, fsGroup), no Secret in env", () => {
        const manifests = rendered[name] ?? [];
        const expected = (pod: string): Record<string, string> => {
          if (pod.includes('-topology-')) return { AMQP_URL: 'topology-amqp-url' };
          if (pod.endsWith('-redis-functions')) return { REDIS_URL: 'redis-url' };
          const service: ServiceDeclaration = SERVICE_DECLARATIONS.find((s) => pod === `Deployment/warren-${s.name}`)!;
          const redisKey = manifests.some((m) => m.stringData?.['order-redis-url']) ? `${service.name}-redis-url` : 'redis-url';
          const own = secretsOf(service)
            .filter((v) => v !== 'AUTH_JWT_SECRET')
            .map((v) => [v, v.toLowerCase().replace(/_/g, '-')]);
          return { AMQP_URL: `${service.name}-amqp-url`, REDIS_URL: redisKey, ...Object.fromEntries(own) };
        };
        const pods = podsOf(manifests);
        assert.ok(pods.length > SERVICE_NAMES.length, 'the services and the topology Job');
        for (const { name: pod, pod: spec, container } of pods) {
          assert.deepEqual(secretKeyRefs(container), [], `${pod}: secrets as environment variables`);
          const credentials = mountedCredentials(spec, container);
          assert.deepEqual(Object.fromEntries(credentials.map((c) => [c.variable, c.key])), expected(pod), `${pod}: its keys, no other`);
          // Only what the pod reads is projected: no other key of the Secret lands in its filesystem.
          assert.deepEqual(projectedKeys(spec).sort(), credentials.map((c) => `${c.secret}/${c.key}`).sort(), `${pod}: projected keys`);
          for (const c of credentials) {
            const what = `${pod} ${c.variable}_FILE`;
            assert.equal(c.readOnly, true, `${what}: mounted read-only`);
            // Owned by root, group fsGroup: the app (runAsUser, non-root, in fsGroup) reads it; nobody writes it.
            assert.equal(c.mode, 0o440, `${what}: mode ${c.mode.toString(8)}`);
            assert.ok(Number.isInteger(spec.securityContext.fsGroup) && spec.securityContext.fsGroup > 0, `${what}: fsGroup`);
            assert.ok(spec.securityContext.runAsNonRoot && spec.securityContext.runAsUser > 0, `${what}: non-root`);
            // As the secretKeyRefs were: a URL is required to start, a service's declared secret is optional.
            assert.equal(c.optional, !['AMQP_URL', 'REDIS_URL'].includes(c.variable), `${what}: optional`);
          }
        }
      });

      it('names exactly the environment variables the services read (FLEET_CONFIG_VARIABLES and their own secrets)', () => {
        const manifests = rendered[name] ?? [];
        for (const d of byKind(manifests, 'Deployment')) {
          const service = SERVICE_DECLARATIONS.find((s) => s.name === d.metadata.labels?.['app.kubernetes.io/component']);
          // Every declared secret but the development identity's, which the image (and so the chart) refuses.
          const secrets = (service ? secretsOf(service) : []).filter((s) => s !== 'AUTH_JWT_SECRET');
          const container = d.spec.template.spec.containers[0];
          // A credential is a file: its variable is set as <NAME>_FILE (shared/config/secret-files.ts), never directly.
          const files = new Map(mountedCredentials(d.spec.template.spec, container).map((c) => [`${c.variable}_FILE`, c.variable]));
          const names = new Set<string>((container.env ?? []).map((e: { name: string }) => files.get(e.name) ?? e.name));
          for (const variable of FILE_SECRET_VARIABLES) {
            const direct = (container.env ?? []).some((e: { name: string }) => e.name === variable);
            assert.ok(!direct, `${d.metadata.name}: ${variable} is an environment variable, not a file`);
          }
          for (const source of container.envFrom ?? []) {
            const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === source.configMapRef?.name);
            assert.ok(cm, `${d.metadata.name}: envFrom ConfigMap ${source.configMapRef?.name} not rendered`);
            for (const key of Object.keys(cm.data ?? {})) {
              assert.ok(!names.has(key), `${d.metadata.name}: ${key} set twice`);
              names.add(key);
            }
          }
          // values.yaml sets the settings of the services it knows; one it does not name (a service added since)
          // takes its declared default, so it is not required here.
          const unset = settingVariables(SERVICE_DECLARATIONS).filter((v) => !names.has(v));
          assert.deepEqual(
            [...names].sort(),
            [...FLEET_CONFIG_VARIABLES, ...secrets].filter((v) => !unset.includes(v)).sort(),
            `${d.metadata.name}: env drift from FLEET_CONFIG_VARIABLES`,
          );
        }
      });
    });
  }

  it('TLS and least privilege: certificates mounted read-only, own Redis user, token keys for order and payment only', () => {
    const manifests = rendered['all features, HPA, external broker'] ?? [];
    const config = byKind(manifests, 'ConfigMap').find((m) => m.metadata.name.endsWith('-config'))!;
    for (const proto of ['AMQP', 'REDIS']) {
      assert.equal(config.data![`${proto}_TLS_CA_FILE`], '/etc/warren/tls/ca.crt');
      assert.equal(config.data![`${proto}_TLS_CERT_FILE`], '/etc/warren/tls/tls.crt');
      assert.equal(config.data![`${proto}_TLS_KEY_FILE`], '/etc/warren/tls/tls.key');
    }
    for (const d of byKind(manifests, 'Deployment')) {
      const service = d.metadata.labels!['app.kubernetes.io/component'] as string;
      const pod = d.spec.template.spec;
      const container = pod.containers[0];
      const mount = container.volumeMounts.find((m: any) => m.name === 'tls');
      assert.deepEqual([mount?.mountPath, mount?.readOnly], ['/etc/warren/tls', true], `${service}: TLS mount`);
      assert.equal(pod.volumes.find((v: any) => v.name === 'tls')?.secret?.secretName, 'warren-tls');
      const env = credentialKeys(pod, container);
      assert.equal(env['REDIS_URL'], `${service}-redis-url`, `${service}: its own Redis user`);
      assert.equal(env['PAYMENT_TOKEN_KEYS'], ['order', 'payment'].includes(service) ? 'payment-token-keys' : undefined, service);
    }
    const defaults = rendered['defaults and the settings the image requires'] ?? [];
    assert.equal(byKind(defaults, 'Deployment').length, SERVICE_NAMES.length);
    for (const d of byKind(defaults, 'Deployment')) {
      assert.equal(
        d.spec.template.spec.volumes.find((v: any) => v.name === 'tls'),
        undefined,
        'TLS off by default',
      );
      assert.equal(credentialKeys(d.spec.template.spec, d.spec.template.spec.containers[0])['REDIS_URL'], 'redis-url');
    }
  });
});
