import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createHash } from 'node:crypto';
import { FILE_SECRET_VARIABLES } from '../../shared/config/secret-files';
import { FLEET_CONFIG_VARIABLES, SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { validateManifest } from './k8s-schemas';
import { mountedCredentials, projectedKeys, secretKeyRefs } from './pod-credentials';
import { byKind, CHART, helm, kindCounts, MINIMAL_VALUES, REPO, renderChart, selects, type Manifest } from './tools';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';

const CHART_FILES = 'deploy/helm/warren/files';

/** The renders CI checks: defaults, and every optional feature on (once per autoscaling engine). */
const RENDERS: Record<string, string[]> = {
  'defaults and the settings the image requires': [MINIMAL_VALUES],
  'all features, KEDA, RabbitmqCluster': ['ci/all-features-keda-values.yaml'],
  'all features, HPA, external broker': ['ci/all-features-hpa-values.yaml'],
  'all features, KEDA, RabbitmqCluster with password hashes': [
    'ci/all-features-keda-values.yaml',
    'ci/rabbitmq-password-hashes-values.yaml',
  ],
};

/** The pods the chart runs: each Deployment's and each Job's, with what runs them. */
const podsOf = (manifests: readonly Manifest[]) =>
  [...byKind(manifests, 'Deployment'), ...byKind(manifests, 'Job')].map((m) => ({
    name: `${m.kind}/${m.metadata.name}`,
    pod: m.spec.template.spec,
    container: m.spec.template.spec.containers[0],
  }));

/** The Secret key each file variable of a container comes from: {AMQP_URL: 'order-amqp-url', ...}. */
const credentialKeys = (pod: unknown, container: unknown) =>
  Object.fromEntries(mountedCredentials(pod, container).map((c) => [c.variable, c.key]));

const filesIn = (dir: string, pattern: RegExp): string[] => {
  try {
    return readdirSync(path.join(REPO, dir)).filter((f) => pattern.test(f));
  } catch {
    return [];
  }
};

describe('deploy: Helm chart', function () {
  this.timeout(60_000);
  const rendered: Record<string, Manifest[]> = {};

  before(async () => {
    for (const [name, files] of Object.entries(RENDERS)) rendered[name] = await renderChart(files);
  });

  for (const [name, files] of Object.entries(RENDERS)) {
    describe(name, () => {
      it('passes helm lint --strict', async () => {
        // helm lint asks no cluster (it has no --api-versions), so the CRD check is off here; helm-cluster.test.ts proves it.
        const args = ['lint', '--strict', CHART, '--set', 'checkCrds=false'];
        for (const file of files) args.push('-f', path.join(CHART, file));
        const out = await helm(...args);
        assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      });

      it('renders manifests valid against the Kubernetes (and CRD) schemas', async () => {
        const manifests = rendered[name] ?? [];
        console.log(`      helm template (${name}): ${JSON.stringify(kindCounts(manifests))}`);
        for (const m of manifests) await validateManifest(m);
        const names = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
        assert.equal(new Set(names).size, names.length, 'two objects share a kind and name');
      });

      it('hardens every Deployment: non-root, read-only root fs, no privilege escalation, probes on the ops port', () => {
        const manifests = rendered[name] ?? [];
        const config = byKind(manifests, 'ConfigMap').find((m) => m.metadata.name.endsWith('-config'));
        assert.ok(config?.data, 'no config ConfigMap');
        const deployments = byKind(manifests, 'Deployment');
        assert.deepEqual(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']).sort(), [...SERVICE_NAMES].sort());
        for (const d of deployments) {
          const service = d.metadata.labels?.['app.kubernetes.io/component'] as string;
          const pod = d.spec.template.spec;
          const [container] = pod.containers;
          assert.equal(pod.containers.length, 1);
          assert.deepEqual(container.command, ['node', 'dist/workers/run.js', service]);
          assert.equal(pod.securityContext.runAsNonRoot, true, `${service}: runAsNonRoot`);
          assert.equal(container.securityContext.readOnlyRootFilesystem, true, `${service}: readOnlyRootFilesystem`);
          assert.equal(container.securityContext.allowPrivilegeEscalation, false, `${service}: allowPrivilegeEscalation`);
          assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
          const opsPort = container.ports.find((p: { name: string }) => p.name === 'ops');
          const declared = SERVICE_DECLARATIONS.find((s) => s.name === service)!;
          assert.equal(String(opsPort.containerPort), config.data[declared.ops.env], `${service}: ops port follows config`);
          assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'ops' });
          assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'ops' });
          assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'ops' });
          assert.ok(container.resources?.requests?.memory, `${service}: memory request`);
          const preStopSeconds = Number(container.lifecycle?.preStop?.exec?.command?.[1] ?? 0);
          const drainMs = preStopSeconds * 1000 + Number(config.data['SHUTDOWN_TIMEOUT_MS']);
          assert.ok(pod.terminationGracePeriodSeconds * 1000 > drainMs, `${service}: grace period shorter than preStop + drain`);
          if (service === 'order') assert.ok(preStopSeconds > 0, 'order API needs a preStop pause before its drain');
          assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0, `${service}: rolling update must surge, not cut capacity`);
        }
      });

      it('wires selectors, ports, secrets and scale targets to objects that exist', () => {
        const manifests = rendered[name] ?? [];
        const deployments = byKind(manifests, 'Deployment');
        const podLabels = deployments.map((d) => d.spec.template.metadata.labels as Record<string, string>);
        for (const svc of byKind(manifests, 'Service')) {
          const pods = deployments.filter((d) => selects(svc.spec.selector, d.spec.template.metadata.labels));
          assert.equal(pods.length, 1, `Service ${svc.metadata.name} selects ${pods.length} Deployments`);
          const portNames = pods[0]!.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
          for (const port of svc.spec.ports)
            assert.ok(portNames.includes(port.targetPort), `Service ${svc.metadata.name}: no container port ${port.targetPort}`);
        }
        for (const pdb of byKind(manifests, 'PodDisruptionBudget')) {
          assert.equal(podLabels.filter((l) => selects(pdb.spec.selector.matchLabels, l)).length, 1, `PDB ${pdb.metadata.name}`);
        }
        const deploymentNames = new Set(deployments.map((d) => d.metadata.name));
        for (const hpa of byKind(manifests, 'HorizontalPodAutoscaler')) assert.ok(deploymentNames.has(hpa.spec.scaleTargetRef.name));
        for (const so of byKind(manifests, 'ScaledObject')) {
          assert.ok(deploymentNames.has(so.spec.scaleTargetRef.name));
          const auth = byKind(manifests, 'TriggerAuthentication').find(
            (t) => t.metadata.name === so.spec.triggers[0].authenticationRef.name,
          );
          assert.ok(auth, `ScaledObject ${so.metadata.name}: TriggerAuthentication missing`);
        }
        // An autoscaled Deployment starts at its autoscaler's minimum, not at Kubernetes' default of 1.
        const minimum = new Map<string, number>(
          [...byKind(manifests, 'HorizontalPodAutoscaler'), ...byKind(manifests, 'ScaledObject')].map((s) => [
            s.spec.scaleTargetRef.name,
            s.spec.minReplicas ?? s.spec.minReplicaCount,
          ]),
        );
        for (const d of deployments)
          assert.equal(d.spec.replicas, minimum.get(d.metadata.name) ?? d.spec.replicas, `${d.metadata.name}: replicas vs autoscaler`);
        // Every mounted credential names a key the chart's Secret (when it renders one) holds.
        const secret = byKind(manifests, 'Secret').find((s) => s.metadata.name.endsWith('-credentials'));
        // The topology is the operator's: one Job per revision declares it with topology-amqp-url (warren-admin).
        const [job, ...more] = byKind(manifests, 'Job').filter((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'topology');
        assert.ok(job && more.length === 0, 'one topology Job');
        const container = job.spec.template.spec.containers[0];
        assert.deepEqual(container.command, ['node', 'dist/workers/topology.js', 'apply']);
        assert.deepEqual(credentialKeys(job.spec.template.spec, container), { AMQP_URL: 'topology-amqp-url' });
        if (secret) assert.match(secret.stringData?.['topology-amqp-url'] ?? '', /^amqps?:\/\/warren-admin:[^@]+@/);
        for (const { name: pod, pod: spec, container: c } of podsOf(manifests)) {
          for (const credential of mountedCredentials(spec, c)) {
            if (secret?.metadata.name !== credential.secret) continue;
            assert.ok(secret.stringData?.[credential.key], `${pod}: the Secret has no ${credential.key} for ${credential.variable}_FILE`);
          }
        }
        for (const sm of byKind(manifests, 'ServiceMonitor').filter((s) => s.spec.endpoints[0].port === 'ops')) {
          const targets = byKind(manifests, 'Service').filter((s) => selects(sm.spec.selector.matchLabels, s.metadata.labels));
          assert.equal(targets.length, SERVICE_NAMES.length, 'ServiceMonitor must select every ops Service');
        }
      });

      it("mounts each pod's credentials as read-only files only its non-root user reads (0440, fsGroup), no Secret in env", () => {
        const manifests = rendered[name] ?? [];
        const expected = (pod: string): Record<string, string> => {
          if (pod.includes('-topology-')) return { AMQP_URL: 'topology-amqp-url' };
          if (pod.endsWith('-redis-functions')) return { REDIS_URL: 'redis-url' };
          const service: ServiceDeclaration = SERVICE_DECLARATIONS.find((s) => pod === `Deployment/warren-${s.name}`)!;
          const redisKey = manifests.some((m) => m.stringData?.['order-redis-url']) ? `${service.name}-redis-url` : 'redis-url';
          const own = (service.secrets ?? []).filter((v) => v !== 'AUTH_JWT_SECRET').map((v) => [v, v.toLowerCase().replace(/_/g, '-')]);
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
          const secrets = ((service as { secrets?: readonly string[] } | undefined)?.secrets ?? []).filter((s) => s !== 'AUTH_JWT_SECRET');
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
          assert.deepEqual(
            [...names].sort(),
            [...FLEET_CONFIG_VARIABLES, ...secrets].sort(),
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

  it('refuses TLS without its Secret, and chart-made credentials without payment-token keys', async () => {
    await assert.rejects(renderChart([], ['tls.enabled=true']), /tls\.existingSecret is required/);
    await assert.rejects(
      renderChart(['ci/all-features-keda-values.yaml'], ['secrets.paymentTokenKeys=']),
      /secrets\.paymentTokenKeys is required/,
    );
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['secrets.paymentTokenKeys=k1:short']), /paymentTokenKeys/);
    // Authentication: chart-made credentials need the ops token in every AUTH_MODE (without it the ops ports' admin
    // routes answer anyone); the image refuses hs256 (the development identity), so the chart does too.
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['secrets.opsToken=']), /secrets\.opsToken is required/);
    await assert.rejects(
      renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=off', 'secrets.opsToken=']),
      /secrets\.opsToken is required/,
    );
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=hs256']), /AUTH_MODE/);
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=basic']), /AUTH_MODE/);
    await renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=off']);
    await assert.rejects(
      renderChart(['ci/all-features-hpa-values.yaml'], ['secrets.redisUrls.payment=']),
      /secrets\.redisUrls\.payment is required/,
    );
  });

  it('ships every dashboard as a sidecar ConfigMap and every rules file as a PrometheusRule, content unchanged', () => {
    const manifests = rendered['all features, HPA, external broker'] ?? [];
    const dashboards = filesIn(`${CHART_FILES}/dashboards`, /\.json$/);
    const rules = filesIn(`${CHART_FILES}/rules`, /\.ya?ml$/);
    console.log(`      shipped: ${dashboards.length} dashboards, ${rules.length} rules files`);
    assert.ok(dashboards.length > 0 && rules.length > 0, `${CHART_FILES}/dashboards and rules must not be empty`);
    const dashboardMaps = byKind(manifests, 'ConfigMap').filter((m) => m.metadata.labels?.['grafana_dashboard'] === '1');
    assert.deepEqual(dashboardMaps.flatMap((m) => Object.keys(m.data ?? {})).sort(), [...dashboards].sort());
    for (const file of dashboards) {
      const shipped = dashboardMaps.find((m) => m.data?.[file] !== undefined)?.data?.[file] ?? '';
      assert.deepEqual(JSON.parse(shipped), JSON.parse(readFileSync(path.join(REPO, CHART_FILES, 'dashboards', file), 'utf8')), file);
    }
    const prometheusRules = byKind(manifests, 'PrometheusRule');
    const shippedGroups = prometheusRules.flatMap((r) => r.spec.groups);
    const sourceGroups = rules.flatMap((file) => parseYaml(readFileSync(path.join(REPO, CHART_FILES, 'rules', file), 'utf8')).groups);
    assert.equal(prometheusRules.length, rules.length);
    assert.deepEqual(shippedGroups, sourceGroups);
    // Rules that select a scrape job must find it under the same name in Kubernetes (ServiceMonitor relabelings).
    const keda = rendered['all features, KEDA, RabbitmqCluster'] ?? [];
    const jobs = new Set(
      byKind(keda, 'ServiceMonitor').flatMap((sm) =>
        sm.spec.endpoints.flatMap((e: any) =>
          (e.relabelings ?? []).filter((r: any) => r.targetLabel === 'job').map((r: any) => r.replacement),
        ),
      ),
    );
    const wanted = new Set([...JSON.stringify(sourceGroups).matchAll(/job=\\"([^\\"]+)\\"/g)].map((m) => m[1]));
    console.log(`      rules select jobs ${JSON.stringify([...wanted])}; ServiceMonitors produce ${JSON.stringify([...jobs])}`);
    for (const job of wanted) assert.ok(jobs.has(job), `rules select job="${job}", which no ServiceMonitor produces`);
  });

  it('schema validation is not vacuous: a broken Deployment and a broken RabbitmqCluster are refused', async () => {
    const manifests = rendered['all features, KEDA, RabbitmqCluster'] ?? [];
    const deployment = structuredClone(byKind(manifests, 'Deployment')[0]!);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'not-a-port';
    await assert.rejects(validateManifest(deployment), /containerPort must be integer/);
    const cluster = structuredClone(byKind(manifests, 'RabbitmqCluster')[0]!);
    cluster.spec.rabbitmq.additionalConfig = 'x'.repeat(2001);
    await assert.rejects(validateManifest(cluster), /additionalConfig/);
    await assert.rejects(validateManifest({ apiVersion: 'example.com/v1', kind: 'Unknown', metadata: { name: 'x' } }), /no schema/);
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

  describe('values.schema.json refuses bad values at install', () => {
    const refused: [string, RegExp][] = [
      ['config.QUEUE_TYPE=mirrored', /QUEUE_TYPE/],
      ['config.NOT_A_WARREN_VARIABLE=1', /NOT_A_WARREN_VARIABLE/],
      ['config.ORDER_OPS_PORT=70000', /ORDER_OPS_PORT/],
      ['config.PAYMENT_GATEWAY_FAILURE_RATE=1.5', /PAYMENT_GATEWAY_FAILURE_RATE/],
      ['services.inventory.replicas=-1', /replicas/],
      ['services.invetnory.replicas=1', /invetnory/],
      ['autoscaling.engine=cron', /engine/],
      ['rabbitmqCluster.passwordz.order=x', /passwordz/],
    ];
    for (const [set, message] of refused) {
      it(`--set ${set}`, async () => {
        await assert.rejects(renderChart([], [set]), message);
      });
    }

    it('fails when the grace period cannot cover preStop + SHUTDOWN_TIMEOUT_MS', async () => {
      await assert.rejects(renderChart([], ['services.order.preStopSleepSeconds=20']), /terminationGracePeriodSeconds/);
    });

    it('fails, naming the value, without a setting the image requires and no default can give', async () => {
      const bare = (sets: string[]) => renderChart([], sets, undefined, { bare: true });
      await assert.rejects(bare([]), /config\.AUTH_JWKS_URL is required with config\.AUTH_MODE=jwt/);
      await assert.rejects(bare(['config.AUTH_JWKS_URL=https://idp/jwks']), /config\.AUTH_AUDIENCE is required/);
      await assert.rejects(bare(['config.AUTH_JWKS_URL=https://idp/jwks', 'config.AUTH_AUDIENCE=a']), /config\.PRICE_LIST is required/);
      await assert.rejects(renderChart([], ['config.PRICE_LIST=P001=75']), /config\.PRICE_LIST must be a JSON object/);
      await renderChart([], ['config.AUTH_MODE=off', 'config.AUTH_JWKS_URL=', 'config.PRICE_LIST=off']);
    });

    it('fails when chart-managed credentials are incomplete', async () => {
      await assert.rejects(renderChart([], ['secrets.existingSecret=']), /secrets\.redisUrl is required/);
      await assert.rejects(
        renderChart(['ci/all-features-keda-values.yaml'], ['rabbitmqCluster.passwords.admin=']),
        /rabbitmqCluster\.passwordHashes\.admin is required .*rabbitmqCluster\.passwords\.admin/,
      );
      // The topology Job's URL is never built from an empty password.
      await assert.rejects(
        renderChart(['ci/all-features-hpa-values.yaml'], ['secrets.topologyAmqpUrl=']),
        /secrets\.topologyAmqpUrl \(the operator's URL, warren-admin, for the topology Job\) is required/,
      );
    });

    it('with password hashes, fails naming the AMQP URL the chart cannot build from a hash; refuses a hash that is none', async () => {
      const hashes = ['ci/all-features-keda-values.yaml', 'ci/rabbitmq-password-hashes-values.yaml'];
      await assert.rejects(
        renderChart(hashes, ['secrets.amqpUrls.payment=']),
        /secrets\.amqpUrls\.payment is required .*passwordHashes\.payment is a hash/,
      );
      await assert.rejects(
        renderChart(hashes, ['secrets.topologyAmqpUrl=']),
        /secrets\.topologyAmqpUrl is required .*passwordHashes\.admin is a hash/,
      );
      // From an existing Secret, the URLs need no value at all.
      await renderChart(hashes, ['secrets.existingSecret=warren-credentials', 'secrets.amqpUrls=null', 'secrets.topologyAmqpUrl=']);
      await assert.rejects(renderChart(hashes, ['rabbitmqCluster.passwordHashes.order=not-a-real-password-o']), /passwordHashes\/order/);
      const hash = 'k1Q6mBxGg2A6Fb61xvuneDG7H/7l6dHRzL6pJn8ZWyCy8eri';
      await assert.rejects(
        renderChart(['ci/all-features-keda-values.yaml'], [`rabbitmqCluster.passwordHashes.admin=${hash}`]),
        /rabbitmqCluster\.passwordHashes\.admin and rabbitmqCluster\.passwords\.admin are both set/,
      );
      await assert.rejects(renderChart([], ['podSecurityContext.fsGroup=null']), /fsGroup/);
    });
  });
});
