import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { countEffects } from '../helpers/effects';
import { assertInvariants, assertOutcomesAsExpected, awaitFinal } from '../helpers/invariants';
import { placeOrders } from '../helpers/traffic';
import { sleep, waitFor } from '../helpers/wait';
import { REAL_IMAGES, requireDocker } from '../docker/compose-project';
import { ClusterProject, docker, RABBITMQ_NODES, STANDIN_IMAGES } from './cluster-project';
import { awaitNodeBack, awaitNotQuorumCritical, leaderOf, redisMaster, redisRole } from './faults';
import { recoveryProbe } from './recovery-probe';

const PRODUCTS = { inStock: 'CLUSTER-IN', outOfStock: 'CLUSTER-OUT' };
const STOCK: Readonly<Record<string, number>> = { 'CLUSTER-IN': 1_000_000, 'CLUSTER-OUT': 0 };
const CONSUMER_QUEUES = ['warren.order', 'warren.inventory', 'warren.payment'];

/**
 * The fleet on deploy/cluster/docker-compose.cluster.yml (three RabbitMQ 4 nodes, quorum queues of three, Redis
 * master + two replicas under three sentinels), broken four ways under a stream of orders. Each prints its counts
 * and the longest time no order completed, and holds docs/contract.md's invariants: nothing lost, nothing twice.
 * One project for the four (bringing a cluster up costs about two minutes on the 2-core CI machine).
 */
describe('cluster: node loss under load loses nothing', function () {
  this.timeout(900_000);
  let project: ClusterProject;
  let urls: { api: string; inventory: string; payment: string };

  const log = (line: string) => console.log(`      [cluster] ${line}`);

  const currentStock = async (): Promise<Record<string, number>> => {
    const stock: Record<string, number> = {};
    for (const productId of Object.keys(STOCK))
      stock[productId] = (await http('GET', `${urls.inventory}/stock/${productId}`)).body.available;
    return stock;
  };

  /**
   * `count` orders at `perSecond` with `breakIt` run two seconds in; probes measure the stall from the fault until
   * breakIt has returned and orders complete again. Then every order must end right.
   */
  const underLoad = async (label: string, count: number, perSecond: number, breakIt: () => Promise<void>) => {
    const initial = await currentStock();
    const traffic = placeOrders(urls.api, count, perSecond, PRODUCTS);
    await sleep(2000);
    const faultAt = Date.now();
    const probe = recoveryProbe(urls.api, PRODUCTS.inStock, faultAt);
    await breakIt();
    const stallMs = await probe.finish(Date.now());
    await traffic.done;
    const ids = [...traffic.accepted, ...probe.accepted];
    const outcomes = await awaitFinal(urls.api, ids, 240_000);
    await assertInvariants(urls, initial, outcomes);
    const counts = await countEffects(urls, initial, ids, outcomes);
    log(
      `${label}: ${JSON.stringify({ ...counts, unavailable: traffic.unavailable })}; orders completed again within ${(stallMs / 1000).toFixed(1)} s`,
    );
    assert.ok(counts.orders >= 300, `only ${counts.orders} orders`);
    assert.equal(counts.lost, 0, 'lost effects');
    assert.equal(counts.duplicated, 0, 'duplicated effects');
    // The recovery probe's orders are in-stock and approving, so they must confirm too.
    const expected = new Map<string, string>([...traffic.expected, ...probe.accepted.map((id): [string, string] => [id, 'CONFIRMED'])]);
    assertOutcomesAsExpected(outcomes, expected);
  };

  before(async function () {
    await requireDocker();
    const missing: string[] = [];
    for (const image of REAL_IMAGES ? [] : STANDIN_IMAGES)
      if (!(await docker(['image', 'inspect', image]).catch(() => ''))) missing.push(image);
    assert.deepEqual(missing, [], 'stand-in images missing: run test/docker/standin-images.sh');
    project = await ClusterProject.create();
    log(`project ${project.name}`);
    let start = Date.now();
    await project.compose(['build'], 900_000);
    log(`image build: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    start = Date.now();
    await project.compose(['up', '--detach', '--wait', '--wait-timeout', '300'], 360_000);
    log(`up to all healthy: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    urls = { api: project.api, inventory: await project.url('inventory', 9102), payment: await project.url('payment', 9103) };
    for (const [productId, available] of Object.entries(STOCK))
      assert.equal((await http('PUT', `${urls.inventory}/stock/${productId}`, { available })).status, 200);
  });

  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    if (!project) return;
    if (failed)
      for (const service of [...RABBITMQ_NODES, 'order', 'inventory', 'payment', 'sentinel-1']) console.log(await project.logs(service));
    await project.destroy();
    assert.deepEqual(await project.leftovers(), [], 'containers, networks or volumes left behind');
  });

  it('forms one cluster: three running nodes, every queue a quorum queue of three, Redis master with two replicas', async () => {
    const status = JSON.parse(await project.rabbit('rabbitmq-1', 'rabbitmqctl', '-q', 'cluster_status', '--formatter', 'json')) as {
      running_nodes: string[];
    };
    assert.deepEqual(status.running_nodes.sort(), ['rabbit@rabbitmq-1', 'rabbit@rabbitmq-2', 'rabbit@rabbitmq-3']);
    const queues = JSON.parse(
      await project.rabbit(
        'rabbitmq-1',
        'rabbitmqctl',
        '-q',
        'list_queues',
        '-p',
        'warren',
        'name',
        'type',
        'members',
        '--formatter',
        'json',
      ),
    ) as { name: string; type: string; members: string[] }[];
    assert.ok(queues.length >= 15, `only ${queues.length} queues`);
    for (const q of queues) {
      assert.equal(q.type, 'quorum', q.name);
      assert.equal(q.members.length, 3, `${q.name}: ${JSON.stringify(q.members)}`);
    }
    assert.equal(await redisMaster(project), 'redis-1');
    assert.deepEqual([await redisRole(project, 'redis-2'), await redisRole(project, 'redis-3')], ['slave', 'slave']);
  });

  it('kill -9 of the node leading the consumer queues', async () => {
    const leader = await leaderOf(project, CONSUMER_QUEUES);
    await underLoad(`kill -9 ${leader} (leader of the consumer queues)`, 300, 30, async () => {
      await docker(['kill', '--signal', 'KILL', project.container(leader)]);
    });
    await docker(['start', project.container(leader)]);
    await awaitNodeBack(project, leader);
  });

  it('a rolling restart of all three nodes, one after another', async () => {
    await underLoad('rolling restart of rabbitmq-1, -2, -3', 330, 4, async () => {
      for (const node of RABBITMQ_NODES) {
        // What an upgrade does: stop a node only when no quorum queue would lose its majority, wait for its return.
        await awaitNotQuorumCritical(project, node);
        const start = Date.now();
        await docker(['restart', '--time', '30', project.container(node)], 180_000);
        await awaitNodeBack(project, node);
        log(`  ${node} restarted and back in the cluster in ${((Date.now() - start) / 1000).toFixed(1)} s`);
      }
    });
  });

  it('one node cut off from the others, then healed', async () => {
    const node = await leaderOf(project, CONSUMER_QUEUES);
    let healedAt = 0;
    await underLoad(`${node} cut off for 45 s, then healed`, 300, 6, async () => {
      await docker(['network', 'disconnect', '--force', project.network, project.container(node)]);
      await sleep(45_000);
      // Compose's DNS alias goes with the disconnect: the node is known to its peers by its service name.
      await docker(['network', 'connect', '--alias', node, project.network, project.container(node)]);
      healedAt = Date.now();
    });
    await awaitNodeBack(project, node);
    log(
      `  ${node} seen back in the cluster ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the heal (checked once the orders settled)`,
    );
  });

  it('Redis master killed mid-flow: Sentinel promotes a replica', async () => {
    const master = await redisMaster(project);
    let promoted = '';
    await underLoad(`kill -9 Redis master ${master}`, 300, 15, async () => {
      const killedAt = Date.now();
      await docker(['kill', '--signal', 'KILL', project.container(master)]);
      promoted = await waitFor(
        'Sentinel to promote a replica',
        async () => {
          const now = await redisMaster(project);
          return now !== master ? now : undefined;
        },
        60_000,
        250,
      );
      log(`  Sentinel promoted ${promoted} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    });
    // The old master returns as a replica of the new one (Sentinel reconfigures it).
    await docker(['start', project.container(master)]);
    await waitFor(`${master} to rejoin as a replica`, async () => (await redisRole(project, master)) === 'slave' || undefined, 60_000, 500);
    assert.equal(await redisMaster(project), promoted);
  });
});
