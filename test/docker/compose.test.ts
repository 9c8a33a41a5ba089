import assert from 'node:assert/strict';
import { http, orderRequest } from '../helpers/api';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { placeOrders } from '../helpers/traffic';
import { sleep, waitFor } from '../helpers/wait';
import { ComposeProject, GRAFANA_IMAGE, missingImages, REAL_IMAGES, requireDocker } from './compose-project';
import { SERVICE_NAMES } from '../../workers/registry';

const PRODUCTS = { inStock: 'COMPOSE-IN', outOfStock: 'COMPOSE-OUT' };
const STOCK: Readonly<Record<string, number>> = { 'COMPOSE-IN': 100_000, 'COMPOSE-OUT': 0 };
const WORKERS: readonly string[] = SERVICE_NAMES;

/**
 * `docker compose up` as a user runs it: the repo's docker-compose.yml, the image built from the Dockerfile, a real
 * Docker engine. Orders go in on the published API port; the workers' ops ports are published on ephemeral
 * 127.0.0.1 ports by a test-only override, so no traffic leaves the host and containers talk only on the
 * project's own network. The phases run in order on one project; each prints its time.
 */
describe('docker compose: the whole fleet on a Docker engine', function () {
  this.timeout(600_000);
  let project: ComposeProject;
  let urls: { api: string; inventory: string; payment: string };

  const phase = async <T>(label: string, body: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    const result = await body();
    console.log(`      [compose] ${label}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    return result;
  };

  /** Re-reads the published ports: a restarted or re-created container gets a new ephemeral host port. */
  const refreshUrls = async () => {
    urls = {
      api: `http://127.0.0.1:${project.ports.api}`,
      inventory: await project.url('inventory', 9102),
      payment: await project.url('payment', 9103),
    };
  };

  const allHealthy = async (expected: number) => {
    const rows = (await project.containers()).filter((c) => c.state === 'running');
    return (rows.length === expected && rows.every((c) => c.health === '' || c.health === 'healthy')) || undefined;
  };

  /** Each phase starts from the stock the previous one left. */
  const currentStock = async (): Promise<Record<string, number>> => {
    const stock: Record<string, number> = {};
    for (const productId of Object.keys(STOCK))
      stock[productId] = (await http('GET', `${urls.inventory}/stock/${productId}`)).body.available;
    return stock;
  };

  /** 300 orders (declines and out-of-stock among them) while `breakIt` runs; then nothing lost, nothing twice. */
  const underLoad = async (label: string, breakIt: () => Promise<void>) => {
    const initial = await currentStock();
    const traffic = placeOrders(urls.api, 300, 60, PRODUCTS);
    await sleep(1500);
    await breakIt();
    await traffic.done;
    await refreshUrls();
    const outcomes = await awaitFinal(urls.api, traffic.accepted, 180_000);
    await assertInvariants(urls, initial, outcomes);
    const counts = await countEffects(urls, initial, traffic.accepted, outcomes);
    console.log(`      [compose] ${label}: ${JSON.stringify({ ...counts, unavailable: traffic.unavailable })}`);
    assert.equal(counts.lost, 0, 'lost effects');
    assert.equal(counts.duplicated, 0, 'duplicated effects');
    assertOutcomesAsExpected(outcomes, traffic.expected);
  };

  before(async function () {
    const compose = await requireDocker();
    const missing = await missingImages();
    assert.deepEqual(
      missing,
      [],
      `stand-in images missing: run test/docker/standin-images.sh (or set WARREN_COMPOSE_REAL_IMAGES=1 where a registry is reachable)`,
    );
    project = await ComposeProject.create();
    console.log(
      `      [compose] docker compose ${compose}, project ${project.name}, ${REAL_IMAGES ? 'real images' : 'Debian stand-in images'}`,
    );
    if (!project.grafana)
      console.log(
        `      [compose] grafana left out: ${GRAFANA_IMAGE} is not on this engine and no registry or package provides it (the dashboards are proven against Prometheus in test/observability instead)`,
      );
  });

  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    if (!project) return;
    if (failed) {
      for (const service of ['rabbitmq', ...WORKERS])
        console.log((await project.logs(service).catch(() => '')).split('\n').slice(-15).join('\n'));
    }
    await project.destroy();
  });

  it('builds the image once and comes up with every service healthy', async () => {
    const built = await phase('image build', () => project.compose(['build'], 900_000));
    // One image for three services: only `order` builds it.
    assert.equal(
      (built.match(/^Step 1\/\d+ : ARG NODE_IMAGE/gm) ?? []).length,
      1,
      `the image was built more than once:\n${built.slice(-2000)}`,
    );
    await phase('up to all healthy', () => project.compose(['up', '--detach', '--wait', '--wait-timeout', '240'], 300_000));
    const rows = await project.containers();
    for (const service of [...WORKERS, 'rabbitmq', 'redis', 'prometheus', ...(project.grafana ? ['grafana'] : [])]) {
      const row = rows.find((r) => r.service === service);
      assert.equal(row?.health, 'healthy', `${service}: ${JSON.stringify(row)}`);
    }
    const definitions = rows.find((r) => r.service === 'rabbitmq-definitions');
    assert.equal(definitions?.state, 'exited');
    assert.equal(definitions?.exitCode, 0);
    // RabbitMQ 4 gives a quorum queue declared without a delivery limit a default of 20 (DLQs included).
    assert.doesNotMatch(await project.logs('rabbitmq'), /delivery_limit not set/);
    await refreshUrls();
  });

  it('ends orders on the published port right: confirmed, declined, flaky, out of stock', async () => {
    await phase('orders end right', async () => {
      for (const [productId, available] of Object.entries(STOCK)) {
        assert.equal((await http('PUT', `${urls.inventory}/stock/${productId}`, { available })).status, 200);
      }
      const place = async (overrides: Parameters<typeof orderRequest>[0]) => {
        const r = await http('POST', `${urls.api}/orders`, orderRequest(overrides));
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return r.body.orderId as string;
      };
      const ids = {
        approve: await place({ items: [{ productId: PRODUCTS.inStock, quantity: 2 }] }),
        decline: await place({ items: [{ productId: PRODUCTS.inStock, quantity: 1 }], paymentToken: 'tok_decline' }),
        flaky: await place({ items: [{ productId: PRODUCTS.inStock, quantity: 1 }], paymentToken: 'tok_flaky' }),
        outOfStock: await place({ items: [{ productId: PRODUCTS.outOfStock, quantity: 1 }] }),
      };
      const outcomes = await awaitFinal(urls.api, Object.values(ids), 90_000);
      const view = (id: string) => outcomes.get(id)!;
      assert.equal(view(ids.approve).status, 'CONFIRMED');
      assert.deepEqual([view(ids.decline).status, view(ids.decline).reason], ['CANCELLED', 'PAYMENT_DECLINED']);
      assert.equal(view(ids.flaky).status, 'CONFIRMED');
      assert.deepEqual([view(ids.outOfStock).status, view(ids.outOfStock).reason], ['CANCELLED', 'OUT_OF_STOCK']);
      await assertInvariants(urls, STOCK, outcomes);
    });
  });

  it('is scraped by Prometheus: every target up, warren_ series from each service, rules loaded', async () => {
    const prometheus = `http://127.0.0.1:${project.ports.prometheus}`;
    await phase('prometheus targets up', () =>
      waitFor(
        'every Prometheus target up',
        async () => {
          const { body } = await http('GET', `${prometheus}/api/v1/targets`);
          const targets = body.data.activeTargets as { labels: { job: string }; health: string }[];
          const jobs = targets.map((t) => t.labels.job).sort();
          return (targets.every((t) => t.health === 'up') && jobs.join() === 'prometheus,rabbitmq,warren,warren,warren') || undefined;
        },
        90_000,
        1000,
      ),
    );
    await waitFor(
      'warren_ series from every service',
      async () => {
        const { body } = await http(
          'GET',
          `${prometheus}/api/v1/query?query=${encodeURIComponent('sum by (service) (warren_messages_consumed_total)')}`,
        );
        const services = (body.data.result as { metric: { service: string } }[]).map((r) => r.metric.service).sort();
        return services.join() === 'inventory,order,payment' || undefined;
      },
      60_000,
      1000,
    );
    const { body: rules } = await http('GET', `${prometheus}/api/v1/rules`);
    const all = (rules.data.groups as { rules: { health: string; name: string }[] }[]).flatMap((g) => g.rules);
    assert.ok(all.length >= 15, `only ${all.length} rules loaded`);
    assert.deepEqual(
      all.filter((r) => r.health !== 'ok').map((r) => r.name),
      [],
    );
    if (project.grafana) {
      const health = await http('GET', `http://127.0.0.1:${project.ports.grafana}/api/health`);
      assert.equal(health.status, 200, 'grafana /api/health');
    }
  });

  it('scales inventory to three replicas, and orders still end with no double effect', async () => {
    await phase('scale inventory=3', () =>
      project.compose(['up', '--detach', '--wait', '--wait-timeout', '180', '--scale', 'inventory=3'], 240_000),
    );
    assert.equal((await project.containers('inventory')).filter((c) => c.health === 'healthy').length, 3);
    await phase('300 orders on 3 inventory replicas', () => underLoad('scaled inventory=3', async () => undefined));
  });

  it('drains on `stop inventory` mid-burst (exit 0, log says so) and loses nothing', async () => {
    await phase('stop/start inventory under load', () =>
      underLoad('stop inventory mid-burst', async () => {
        await project.compose(['stop', 'inventory']);
        for (const replica of await project.containers('inventory')) {
          assert.equal(replica.state, 'exited', replica.name);
          assert.equal(replica.exitCode, 0, `${replica.name} exited ${replica.exitCode}`);
        }
        const logs = await project.logs('inventory');
        assert.match(logs, /"msg":"draining"/);
        assert.match(logs, /"msg":"stopped"/);
        await sleep(2000);
        await project.compose(['up', '--detach', '--wait', '--wait-timeout', '180', '--scale', 'inventory=3']);
      }),
    );
  });

  it('rides out `restart rabbitmq` under a stream of orders', async () => {
    await phase('restart rabbitmq under load', () =>
      underLoad('restart rabbitmq', async () => {
        await project.compose(['restart', 'rabbitmq']);
      }),
    );
    const running = { order: 1, inventory: 3, payment: 1, rabbitmq: 1, redis: 1, prometheus: 1, grafana: project.grafana ? 1 : 0 };
    await waitFor('every service healthy again', () => allHealthy(Object.values(running).reduce((a, b) => a + b)), 120_000, 1000);
  });

  it('leaves no container, network or volume behind after `down -v`', async () => {
    await phase('down -v', () => project.compose(['down', '--volumes', '--remove-orphans', '--timeout', '20']));
    assert.deepEqual(await project.leftovers(), []);
  });
});
