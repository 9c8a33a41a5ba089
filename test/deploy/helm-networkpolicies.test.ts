import assert from 'node:assert/strict';
import path from 'node:path';
import { SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { validateManifest } from './k8s-schemas';
import { byKind, CHART, helm, MINIMAL_VALUES, OPERATOR_CRDS, parseManifests, renderChart, selects, type Manifest } from './tools';

/** Every selector a user may set (test/deploy/fixtures/network-policy-values.yaml), as a values file for renderChart. */
const CUSTOM = path.relative(CHART, path.join(__dirname, 'fixtures/network-policy-values.yaml'));

const ns = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
const tcp = (port: number | string) => ({ port, protocol: 'TCP' });

/** What NetworkPolicy ports look like once Helm has been through them (numbers may arrive as floats; same JSON). */
const portsOf = (rules: any[]) => rules.flatMap((r) => (r.ports ?? []).map((p: any) => `${p.port}/${p.protocol}`)).sort();

/** True for the service with a public API (order): the only one the API rule and the JWKS are for. */
const hasApi = (service: (typeof SERVICE_DECLARATIONS)[number]): boolean => 'api' in service;

const policyOf = (manifests: readonly Manifest[], service: string): Manifest => {
  const policy = byKind(manifests, 'NetworkPolicy').find((p) => p.metadata.labels?.['app.kubernetes.io/component'] === service);
  assert.ok(policy, `no NetworkPolicy for ${service}`);
  return policy;
};

/** `helm template` with --set-json pairs (renderChart's --set cannot say an empty list). */
async function renderJson(setJson: string[]): Promise<Manifest[]> {
  const args = ['template', 'warren', CHART, '--namespace', 'shop', '-f', path.join(CHART, MINIMAL_VALUES)];
  for (const apiVersion of OPERATOR_CRDS) args.push('--api-versions', apiVersion);
  for (const set of setJson) args.push('--set-json', set);
  return parseManifests(await helm(...args));
}

describe('deploy: Helm chart NetworkPolicies', function () {
  this.timeout(60_000);
  let defaults: Manifest[];

  before(async () => {
    defaults = await renderChart();
  });

  it('renders one per service by default, valid, selecting exactly that service’s pods, Ingress and Egress both', async () => {
    const policies = byKind(defaults, 'NetworkPolicy');
    assert.deepEqual(policies.map((p) => p.metadata.name).sort(), SERVICE_NAMES.map((s) => `warren-${s}`).sort());
    const deployments = byKind(defaults, 'Deployment');
    for (const policy of policies) {
      await validateManifest(policy);
      const selected = deployments.filter((d) => selects(policy.spec.podSelector.matchLabels, d.spec.template.metadata.labels));
      assert.deepEqual(
        selected.map((d) => d.metadata.name),
        [`warren-${policy.metadata.labels!['app.kubernetes.io/component']}`],
      );
      // Both types listed: what is not allowed, in or out, is refused (no type would leave that direction open).
      assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    }
  });

  it('admits the order API from the ingress namespace and every ops port from monitoring, nothing else', () => {
    for (const service of SERVICE_DECLARATIONS) {
      const { spec } = policyOf(defaults, service.name);
      const expected = [
        ...(hasApi(service) ? [{ from: [ns('ingress-nginx')], ports: [tcp('http')] }] : []),
        { from: [ns('monitoring')], ports: [tcp('ops')] },
      ];
      assert.deepEqual(spec.ingress, expected, service.name);
      // The named ports must be the container's, or the rule admits nothing.
      const deployment = byKind(defaults, 'Deployment').find((d) => d.metadata.name === `warren-${service.name}`)!;
      const names = deployment.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
      for (const rule of spec.ingress) for (const port of rule.ports) assert.ok(names.includes(port.port), `${service.name}: ${port.port}`);
    }
  });

  it('lets out only DNS, the broker, Redis and (order alone, AUTH_MODE=jwt) the JWKS, each on its ports', () => {
    for (const service of SERVICE_DECLARATIONS) {
      const { egress } = policyOf(defaults, service.name).spec;
      // A rule without ports would reach every port of its peers: none may be open that wide.
      for (const rule of egress) assert.ok(rule.ports?.length > 0, `${service.name}: an egress rule on every port`);
      const dns = egress.find((r: any) => r.ports.some((p: any) => p.port === 53));
      assert.deepEqual(dns.to, [{ ...ns('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
      const jwks = hasApi(service) ? ['443/TCP'] : [];
      assert.deepEqual(
        portsOf(egress),
        ['26379/TCP', '53/TCP', '53/UDP', '5671/TCP', '5672/TCP', '6379/TCP', ...jwks].sort(),
        service.name,
      );
    }
  });

  it('opens the OTLP endpoint’s port to every service once tracing is on, and the JWKS URL’s own port', async () => {
    const manifests = await renderChart(
      [],
      ['config.OTEL_EXPORTER_OTLP_ENDPOINT=http://tempo.monitoring:4318', 'config.AUTH_JWKS_URL=https://idp.example.com:8443/jwks'],
    );
    for (const service of SERVICE_DECLARATIONS) {
      const ports = portsOf(policyOf(manifests, service.name).spec.egress);
      assert.ok(ports.includes('4318/TCP'), `${service.name}: OTLP`);
      assert.equal(ports.includes('8443/TCP'), hasApi(service), `${service.name}: JWKS`);
      assert.ok(!ports.includes('443/TCP'), `${service.name}: the JWKS URL names 8443, not 443`);
    }
    // Authentication off: no one fetches a JWKS.
    const off = await renderChart([], ['config.AUTH_MODE=off']);
    for (const service of SERVICE_NAMES) assert.ok(!portsOf(policyOf(off, service).spec.egress).includes('443/TCP'), service);
  });

  it('narrows the broker to the chart’s RabbitmqCluster pods when it runs one', async () => {
    const manifests = await renderChart(['ci/all-features-keda-values.yaml']);
    const [cluster] = byKind(manifests, 'RabbitmqCluster');
    for (const service of SERVICE_NAMES) {
      const broker = policyOf(manifests, service).spec.egress.find((r: any) => r.ports.some((p: any) => p.port === 5672));
      assert.deepEqual(broker.to, [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': cluster!.metadata.name } } }], service);
    }
  });

  it('takes custom selectors, node CIDRs and extra rules as given', async () => {
    const manifests = await renderChart([CUSTOM]);
    const traefik = { ...ns('traefik'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } };
    const scraper = {
      ...ns('observability'),
      podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['prometheus', 'vmagent'] }] },
    };
    for (const service of SERVICE_DECLARATIONS) {
      const policy = policyOf(manifests, service.name);
      await validateManifest(policy);
      assert.deepEqual(policy.spec.ingress, [
        ...(hasApi(service) ? [{ from: [traefik], ports: [tcp('http')] }] : []),
        { from: [scraper, { ipBlock: { cidr: '10.0.0.0/16' } }], ports: [tcp('ops')] },
      ]);
      const expected = [
        { to: [{ ...ns('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'coredns' } } }], ports: [{ port: 53, protocol: 'UDP' }] },
        { to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [tcp(5671)] },
        { to: [{ ...ns('data'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }], ports: [tcp(6380)] },
        ...(hasApi(service) ? [{ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [tcp(443)] }] : []),
        { to: [ns('observability')], ports: [tcp(4318)] },
        { to: [{ ipBlock: { cidr: '203.0.113.5/32' } }], ports: [tcp(8443)] },
      ];
      assert.deepEqual(JSON.parse(JSON.stringify(policy.spec.egress)), expected, service.name);
    }
  });

  it('an empty list of peers admits nobody: it renders no rule, never a rule without `from` (which admits all)', async () => {
    const manifests = await renderJson(['networkPolicy.apiFrom=[]', 'networkPolicy.opsFrom=[]']);
    for (const service of SERVICE_NAMES) {
      const policy = policyOf(manifests, service);
      await validateManifest(policy);
      assert.deepEqual(policy.spec.ingress, [], service);
    }
  });

  it('turns off: networkPolicy.enabled=false renders none', async () => {
    assert.deepEqual(byKind(await renderChart([], ['networkPolicy.enabled=false']), 'NetworkPolicy'), []);
  });

  it('refuses a misspelt key or a peer without its CIDR at install (values.schema.json)', async () => {
    await assert.rejects(renderChart([], ['networkPolicy.opsFromm[0].ipBlock.cidr=10.0.0.0/8']), /opsFromm/);
    await assert.rejects(renderJson(['networkPolicy.opsFrom=[{"ipBlock":{}}]']), /cidr/);
    await assert.rejects(renderJson(['networkPolicy.apiFrom=[{"podSelektor":{}}]']), /podSelektor/);
  });
});
