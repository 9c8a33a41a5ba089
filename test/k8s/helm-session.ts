/**
 * One run of the Kubernetes suite (helm.test.ts): the cluster, the images on it, the backing services the docs
 * assume, the workspace the docs' shell blocks run in, the port-forwards and the order load, and their clean-up. Its
 * phases build on each other, so after a failure the rest are not run, and say why.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { helmBinary } from '../deploy/tools';
import { runDocBlocks } from '../docs/doc-runner';
import { sleep, waitFor } from '../helpers/wait';
import { setUpBacking, type Backing } from './backing';
import { getCluster, importImages, Kube, releaseCluster, which, type Cluster } from './cluster';
import { DOCS, LOAD_RATE, NAMESPACE, phase, RELEASE, say, SERVICE_PODS, SERVICES } from './helm-release';
import { buildWarrenImage, removeWarrenImage, requireStandins, STANDIN_IMAGES, WARREN_IMAGE } from './images';
import { PRODUCTS, Shop, type LoadResult } from './orders';
import { PortForward } from './port-forward';
import { makeWorkspace, type Workspace } from './workspace';

/** What the phases use; `kube` exists once the `before` hook has run, `shop` once a phase has opened it. */
export type HelmSession = ReturnType<typeof helmSession>;

/** Registers the run's hooks in the calling describe block and returns what its phases use. */
export function helmSession() {
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

  return {
    get kube() {
      return kube;
    },
    get shop() {
      return shop;
    },
    set shop(value: Shop | undefined) {
      shop = value;
    },
    docs,
    releasePods,
    allReady,
    checkInstalled,
    openShop,
    underLoad,
    closeForwards,
  };
}
