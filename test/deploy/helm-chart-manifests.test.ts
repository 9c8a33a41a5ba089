import assert from 'node:assert/strict';
import path from 'node:path';
import { SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { credentialKeys, podsOf, renderAll, RENDERS } from './chart-renders';
import { validateManifest } from './k8s-schemas';
import { mountedCredentials } from './pod-credentials';
import { byKind, CHART, helm, kindCounts, selects, type Manifest } from './tools';

// What every render of the chart must be before anything reads its contents: lint-clean, valid against the
// Kubernetes and CRD schemas (and that check able to fail), hardened, and wired to objects that exist.
describe('deploy: Helm chart', function () {
  this.timeout(60_000);
  let rendered: Record<string, Manifest[]> = {};

  before(async () => {
    rendered = await renderAll();
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
    });
  }

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
});
