import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { phase, RELEASE, RELEASE_PODS, SERVICES } from './helm-release';
import type { HelmSession } from './helm-session';
import { PRODUCTS } from './orders';
import { PortForward } from './port-forward';

/**
 * Path 1 of docs/deploy.md (an existing Secret): the release comes up Ready, its NetworkPolicies are accepted, every
 * ops endpoint answers, and orders placed with real JWTs end right.
 */
export function installSteps(s: HelmSession): void {
  const { docs, checkInstalled, openShop } = s;

  it('installs with an existing Secret as the docs say; their try-it block ends CONFIRMED', async () => {
    await phase('path 1: existing Secret, helm install, try it', () => docs(['helm-values', 'helm-existing-secret', 'helm-try']));
    await checkInstalled('path 1');
  });

  it('the API server accepts the chart’s NetworkPolicies, one per service, each selecting its pods', async () => {
    // Accepted and stored only: this cluster's bridge CNI does not enforce them (docs/security.md), so the pods above
    // came up Ready under them and nothing here can show a connection refused.
    const policies = (await s.kube.json(['get', 'networkpolicy', '-l', RELEASE_PODS])).items as any[];
    assert.deepEqual(policies.map((p) => p.metadata.name).sort(), SERVICES.map((s) => `${RELEASE}-${s.name}`).sort());
    for (const policy of policies) {
      const pods = await s.kube.json([
        'get',
        'pods',
        '-l',
        Object.entries(policy.spec.podSelector.matchLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      ]);
      assert.ok(pods.items.length > 0, `${policy.metadata.name} selects no pod`);
      assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    }
  });

  it('answers /readyz and /metrics on every ops Service; the broker gave every queue its delivery limit', async () => {
    const services = (await s.kube.json(['get', 'svc', '-l', RELEASE_PODS])).items.map((s: any) => s.metadata.name).sort();
    const expected = SERVICES.map((s) => `${RELEASE}-${s.name}-ops`);
    for (const name of expected) assert.ok(services.includes(name), `Service ${name} missing: ${services.join(', ')}`);
    await phase('ops endpoints', async () => {
      for (const service of SERVICES) {
        const forward = await PortForward.open(s.kube, `${RELEASE}-${service.name}-ops`, service.ops.default);
        try {
          const ready = await http('GET', `${forward.url}/readyz`);
          assert.equal(ready.status, 200, `${service.name} /readyz: ${JSON.stringify(ready.body)}`);
          const metrics = await http('GET', `${forward.url}/metrics`);
          assert.equal(metrics.status, 200, `${service.name} /metrics`);
          assert.match(String(metrics.body), /^warren_\w+/m, `${service.name} /metrics has no warren_ series`);
        } finally {
          forward.close();
        }
      }
    });
    // RabbitMQ 4 gives a quorum queue declared without a delivery limit a default of 20 (DLQs included).
    assert.doesNotMatch(await s.kube.kubectl(['logs', 'deployment/rabbitmq']), /delivery_limit not set/);
  });

  it('ends orders placed with real JWTs right: approved, declined, out of stock', async () => {
    s.shop = await openShop();
    await phase('orders', async () => {
      const refused = await s.shop!.post(
        { items: [{ productId: 'P001', quantity: 1 }], totalAmount: 75, currency: 'USD', paymentToken: 'tok_visa' },
        {},
      );
      assert.equal(refused.status, 401, `an order without a token: ${refused.status}`);
      await s.shop!.setStock(PRODUCTS.inStock, 100_000);
      await s.shop!.setStock(PRODUCTS.outOfStock, 0);
      const initial = await s.shop!.stock(Object.values(PRODUCTS));
      const ids = {
        approved: await s.shop!.place('c-1', [{ productId: PRODUCTS.inStock, quantity: 2 }], 'tok_visa'),
        declined: await s.shop!.place('c-2', [{ productId: PRODUCTS.inStock, quantity: 1 }], 'tok_decline'),
        outOfStock: await s.shop!.place('c-3', [{ productId: PRODUCTS.outOfStock, quantity: 1 }], 'tok_visa'),
      };
      const outcomes = await s.shop!.awaitFinal(Object.values(ids), 90_000);
      const view = (id: string) => [outcomes.get(id)!.status, outcomes.get(id)!.reason];
      assert.deepEqual(view(ids.approved), ['CONFIRMED', undefined]);
      assert.deepEqual(view(ids.declined), ['CANCELLED', 'PAYMENT_DECLINED']);
      assert.deepEqual(view(ids.outOfStock), ['CANCELLED', 'OUT_OF_STOCK']);
      await s.shop!.assertInvariants(initial, Object.values(ids));
    });
  });
}
