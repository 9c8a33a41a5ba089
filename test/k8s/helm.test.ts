import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { helmBinary } from '../deploy/tools';
import { runDocBlocks } from '../docs/doc-runner';
import { http } from '../helpers/api';
import { sleep, waitFor } from '../helpers/wait';
import { ApiProber } from './api-prober';
import { setUpBacking, type Backing } from './backing';
import { getCluster, importImages, Kube, releaseCluster, REPO, which, type Cluster } from './cluster';
import { buildWarrenImage, removeWarrenImage, requireStandins, STANDIN_IMAGES, WARREN_IMAGE } from './images';
import { PRODUCTS, Shop, type LoadResult } from './orders';
import { PortForward } from './port-forward';
import { makeWorkspace, type Workspace } from './workspace';

const NAMESPACE = 'shop';
const RELEASE = 'warren';
const DOCS = 'docs/deploy.md';
const CHART = 'deploy/helm/warren';
/** The services the chart ranges over (its files/services.json), each with its ops port and maybe an API port. */
const SERVICES: { name: string; ops: { default: number }; api?: { default: number } }[] = JSON.parse(
  readFileSync(path.join(REPO, CHART, 'files/services.json'), 'utf8'),
).services;
const RELEASE_PODS = `app.kubernetes.io/instance=${RELEASE}`;
/** The services' pods (not the topology Job's, which completes and is never Ready). */
const SERVICE_PODS = `${RELEASE_PODS},app.kubernetes.io/component in (${SERVICES.map((s) => s.name).join(',')})`;
/** Orders per second while pods roll or die. */
const LOAD_RATE = 10;

const phase = async <T>(label: string, body: () => Promise<T>): Promise<T> => {
  const start = Date.now();
  const result = await body();
  console.log(`      [k8s] phase ${label} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
};
const say = (line: string) => console.log(`      [k8s] ${line}`);

/**
 * The Helm chart on a real Kubernetes, installed the way docs/deploy.md says: its own shell blocks run against a
 * namespace `shop` that holds what the docs assume (a broker loaded with the chart's definitions, Redis with a
 * password, an identity provider), then the fleet is checked from outside through `kubectl port-forward` (so it runs
 * on any cluster): probes, orders with real JWTs, a rolling upgrade and killed workers under load, a scale-up, and
 * both install paths' uninstall. KUBECONFIG's cluster is used as it is; without it, the local one-node cluster of
 * ../shared/k8s (test/k8s/local-cluster.sh), stopped again at the end if this run started it.
 */
describe('Kubernetes: the Helm chart installed as docs/deploy.md says', function () {
  this.timeout(900_000);
  let cluster: Cluster | undefined;
  let kube: Kube;
  let workspace: Workspace | undefined;
  let backing: Backing;
  let docEnv: Record<string, string>;
  let imageCreated = false;
  let forwards: PortForward[] = [];
  let shop: Shop | undefined;
  let load: { stop(): Promise<LoadResult> } | undefined;
  let failed = false;

  const docs = (names: readonly string[]) =>
    runDocBlocks(DOCS, names, { env: docEnv, cwd: workspace!.cwd, timeoutMs: 420_000 }).catch((error: Error) => {
      throw new Error(`docs/deploy.md blocks ${names.join(', ')}: ${error.message}`, { cause: error });
    });

  const releasePods = () => kube.pods(SERVICE_PODS);
  const allReady = async (expected: number) => {
    const pods = (await releasePods()).filter((p) => !p.terminating);
    return (pods.length === expected && pods.every((p) => p.ready)) || undefined;
  };

  /** Seconds from `helm install` (the release's first_deployed) to the last pod's Ready transition. */
  const secondsToReady = async (): Promise<number> => {
    const status = JSON.parse(await kube.helm(['status', RELEASE, '-o', 'json']));
    const list = await kube.json(['get', 'pods', '-l', SERVICE_PODS]);
    const readyAt = (list.items as any[]).map((p) =>
      Date.parse((p.status.conditions as any[]).find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime),
    );
    return (Math.max(...readyAt) - Date.parse(status.info.first_deployed)) / 1000;
  };

  /** The release running, every pod Ready: how many, and how long it took. */
  const checkInstalled = async (label: string) => {
    const expected = SERVICES.length * 2;
    await waitFor(`${expected} pods of the release Ready`, () => allReady(expected), 120_000, 1000);
    say(`${label}: ${expected} pods Ready ${(await secondsToReady()).toFixed(0)} s after helm install`);
    // A pod that crashed on its way up (a dependency not there yet, a value it cannot read) shows as a restart.
    const restarted = (await releasePods()).filter((p) => p.restarts > 0);
    assert.deepEqual(restarted, [], 'pods restarted while the release came up');
  };

  /** The order API and the inventory and payment ops ports, forwarded to 127.0.0.1, and a client on them. */
  const openShop = async (): Promise<Shop> => {
    const order = SERVICES.find((s) => s.api)!;
    const [api, inventory, payment] = await Promise.all([
      // Unauthenticated, the API answers 401 at once: enough to know the forward passes bytes.
      PortForward.open(kube, `${RELEASE}-${order.name}`, order.api!.default, '/orders/probe'),
      PortForward.open(kube, `${RELEASE}-inventory-ops`, SERVICES.find((s) => s.name === 'inventory')!.ops.default),
      PortForward.open(kube, `${RELEASE}-payment-ops`, SERVICES.find((s) => s.name === 'payment')!.ops.default),
    ]);
    forwards.push(api, inventory, payment);
    const opsToken = await kube.secretValue(`${RELEASE}-credentials`, 'ops-token');
    return new Shop({ api: api.url, inventory: inventory.url, payment: payment.url, token: (c) => backing.token(c), opsToken });
  };

  /** Orders at LOAD_RATE while `during` runs, then every accepted order ends right with nothing lost or doubled. */
  const underLoad = async (label: string, during: () => Promise<unknown>) => {
    const initial = await shop!.stock(Object.values(PRODUCTS));
    const forwardRestarts = () => forwards.reduce((sum, f) => sum + f.restarts, 0);
    const restartsBefore = forwardRestarts();
    load = shop!.load(LOAD_RATE);
    await sleep(3000);
    await during();
    await sleep(3000);
    const result = await load.stop();
    load = undefined;
    const counts = await phase(`${label}: every order ended, invariants`, () => shop!.assertInvariants(initial, result.accepted));
    const restarts = forwardRestarts() - restartsBefore;
    say(
      `${label}: ${JSON.stringify({ ...counts, unavailable: result.unavailable, dropped: result.dropped, portForwardRestarts: restarts })}`,
    );
    assert.ok(counts.confirmed > 0 && counts.cancelled > 0, 'the load confirms some orders and cancels others');
  };

  const closeForwards = () => {
    for (const f of forwards) f.close();
    forwards = [];
  };

  before(async function () {
    cluster = await phase('cluster', getCluster);
    const helm = helmBinary();
    kube = new Kube(cluster, NAMESPACE, helm);
    if (cluster.local) {
      say(`local one-node cluster (${cluster.started ? 'started by this run' : 'already running: left running'})`);
      await requireStandins();
      imageCreated = (await phase('image build', buildWarrenImage)).created;
      await phase('image import', () => importImages([WARREN_IMAGE, ...STANDIN_IMAGES]));
    } else {
      say(
        `KUBECONFIG's cluster, as it is: ${[WARREN_IMAGE, ...STANDIN_IMAGES].join(', ')} must already be on its nodes (nothing is imported)`,
      );
    }
    workspace = makeWorkspace({ kubectl: await which(cluster.kubectl), helm });
    backing = await phase('backing services (RabbitMQ, Redis, identity provider)', () => setUpBacking(kube, workspace!.dir));
    docEnv = {
      ...backing.env,
      KUBECONFIG: cluster.kubeconfig,
      PATH: [workspace.bin, path.dirname(process.execPath), process.env['PATH']].join(':'),
      TOKEN: await backing.token('c-1'),
    };
  });

  // The phases build on each other: after a failure the rest would fail for the same reason, so they say that.
  beforeEach(function () {
    if (failed) throw new Error('not run: an earlier phase failed');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    this.timeout(600_000);
    try {
      // Orders still in flight give up within their own deadline; clean-up does not wait for more than a minute.
      await Promise.race([load?.stop().catch(() => undefined), sleep(60_000)]);
      closeForwards();
      if (cluster && kube) {
        if (failed || !backing) console.log(await kube.diagnostics().catch((e: Error) => e.message));
        await phase('clean-up', async () => {
          // The namespace holds everything the run made (the release, its Secret, the fixtures); a cluster this run
          // started goes entirely, so there is no need to wait for the namespace then.
          const wait = cluster!.started ? '--wait=false' : '--wait=true';
          await kube
            .kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', wait], { timeoutMs: 300_000 })
            .catch((e: Error) => say(e.message));
          await releaseCluster(cluster!);
        });
      }
    } finally {
      if (imageCreated) await removeWarrenImage();
      workspace?.destroy();
    }
  });

  it('installs with an existing Secret as the docs say; their try-it block ends CONFIRMED', async () => {
    await phase('path 1: existing Secret, helm install, try it', () => docs(['helm-values', 'helm-existing-secret', 'helm-try']));
    await checkInstalled('path 1');
  });

  it('the API server accepts the chart’s NetworkPolicies, one per service, each selecting its pods', async () => {
    // Accepted and stored only: this cluster's bridge CNI does not enforce them (docs/security.md), so the pods above
    // came up Ready under them and nothing here can show a connection refused.
    const policies = (await kube.json(['get', 'networkpolicy', '-l', RELEASE_PODS])).items as any[];
    assert.deepEqual(policies.map((p) => p.metadata.name).sort(), SERVICES.map((s) => `${RELEASE}-${s.name}`).sort());
    for (const policy of policies) {
      const pods = await kube.json([
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
    const services = (await kube.json(['get', 'svc', '-l', RELEASE_PODS])).items.map((s: any) => s.metadata.name).sort();
    const expected = SERVICES.map((s) => `${RELEASE}-${s.name}-ops`);
    for (const name of expected) assert.ok(services.includes(name), `Service ${name} missing: ${services.join(', ')}`);
    await phase('ops endpoints', async () => {
      for (const service of SERVICES) {
        const forward = await PortForward.open(kube, `${RELEASE}-${service.name}-ops`, service.ops.default);
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
    assert.doesNotMatch(await kube.kubectl(['logs', 'deployment/rabbitmq']), /delivery_limit not set/);
  });

  it('ends orders placed with real JWTs right: approved, declined, out of stock', async () => {
    shop = await openShop();
    await phase('orders', async () => {
      const refused = await shop!.post(
        { items: [{ productId: 'P001', quantity: 1 }], totalAmount: 75, currency: 'USD', paymentToken: 'tok_visa' },
        {},
      );
      assert.equal(refused.status, 401, `an order without a token: ${refused.status}`);
      await shop!.setStock(PRODUCTS.inStock, 100_000);
      await shop!.setStock(PRODUCTS.outOfStock, 0);
      const initial = await shop!.stock(Object.values(PRODUCTS));
      const ids = {
        approved: await shop!.place('c-1', [{ productId: PRODUCTS.inStock, quantity: 2 }], 'tok_visa'),
        declined: await shop!.place('c-2', [{ productId: PRODUCTS.inStock, quantity: 1 }], 'tok_decline'),
        outOfStock: await shop!.place('c-3', [{ productId: PRODUCTS.outOfStock, quantity: 1 }], 'tok_visa'),
      };
      const outcomes = await shop!.awaitFinal(Object.values(ids), 90_000);
      const view = (id: string) => [outcomes.get(id)!.status, outcomes.get(id)!.reason];
      assert.deepEqual(view(ids.approved), ['CONFIRMED', undefined]);
      assert.deepEqual(view(ids.declined), ['CANCELLED', 'PAYMENT_DECLINED']);
      assert.deepEqual(view(ids.outOfStock), ['CANCELLED', 'OUT_OF_STOCK']);
      await shop!.assertInvariants(initial, Object.values(ids));
    });
  });

  it('rolls every Deployment on a config change under load, losing and doubling nothing', async () => {
    const before = new Set((await releasePods()).map((p) => p.name));
    const prober = await ApiProber.start(kube);
    await underLoad('rolling upgrade', () =>
      phase('rolling upgrade (helm upgrade --set config.LOG_LEVEL=debug --wait)', () =>
        kube.helm(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'config.LOG_LEVEL=debug', '--wait', '--timeout', '5m'], 360_000),
      ),
    );
    const after = await releasePods();
    assert.ok(
      after.filter((p) => !p.terminating).every((p) => !before.has(p.name)),
      `pods not replaced: ${after.map((p) => p.name).join(', ')}`,
    );
    const config = await kube.json(['get', 'configmap', `${RELEASE}-config`]);
    assert.equal(config.data.LOG_LEVEL, 'debug');
    const answers = await prober.stop();
    say(
      `rolling upgrade: the order API through its Service answered new connections ${JSON.stringify(answers.fresh)}, kept-alive ones ${JSON.stringify(answers.kept)}`,
    );
    ApiProber.assertGraceful(answers);
  });

  it('survives a payment and an inventory pod killed under load', async () => {
    await underLoad('workers killed', async () => {
      const pods = await releasePods();
      const victims = ['payment', 'inventory'].map((c) => pods.find((p) => p.component === c && p.ready)!.name);
      await phase('killed pods replaced and Ready', async () => {
        await kube.kubectl(['delete', 'pod', ...victims, '--grace-period=0', '--force']);
        await waitFor('the killed pods replaced and every pod Ready', () => allReady(SERVICES.length * 2), 180_000, 500);
      });
    });
  });

  it('scales inventory to 4 replicas with helm upgrade', async () => {
    await phase('scale inventory to 4 Ready', async () => {
      await kube.helm(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'services.inventory.replicas=4']);
      await waitFor(
        '4 inventory pods Ready',
        async () => (await releasePods()).filter((p) => p.component === 'inventory' && p.ready).length === 4 || undefined,
        180_000,
        500,
      );
    });
  });

  it('uninstalls as the docs say, leaving no pod of the release', async () => {
    closeForwards();
    await phase('path 1: helm uninstall', async () => {
      await docs(['helm-uninstall']);
      await waitFor('no pod of the release left', async () => (await releasePods()).length === 0 || undefined, 120_000, 1000);
    });
  });

  it('installs with the chart making the Secret, as the docs say; try it; uninstall', async () => {
    // Path 1's Secret stays (helm uninstall leaves a Secret the user made); the chart's own has another name.
    await phase('path 2: chart-made Secret, helm install, try it', () => docs(['helm-values', 'helm-chart-secret', 'helm-try']));
    await checkInstalled('path 2');
    await phase('path 2: helm uninstall', async () => {
      await docs(['helm-uninstall']);
      await waitFor('no pod of the release left', async () => (await releasePods()).length === 0 || undefined, 120_000, 1000);
    });
  });
});
