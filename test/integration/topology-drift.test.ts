import assert from 'node:assert/strict';
import type { WarrenConfig } from '../../shared/config/config';
import type { Runtime } from '../../shared/lifecycle/runtime';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { startService } from '../../workers/services';
import { runFleetTopologyCli } from '../../workers/topology';
import { http, orderRequest } from '../helpers/api';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from '../helpers/broker';
import { deleteKeys } from '../helpers/fleet';
import { fleetPorts, startOrder, type FleetPorts } from '../helpers/fleet-ports';
import { assertInvariants, awaitFinal } from '../helpers/invariants';
import { LogCapture } from '../helpers/log-capture';
import { queueDepths } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';
import { Redis } from 'ioredis';

/**
 * An operator changes a setting that changes queue arguments (RETRY_DELAYS_MS: the quorum delivery limit;
 * QUEUE_TYPE: the queue type) over queues that hold messages. The services must start, ready, on the old queues;
 * `topology plan` (the operator's) reports the drift; `topology migrate` then recreates the queues without losing a
 * message, and the plan reads clear.
 */
describe('topology drift: a changed setting over existing queues (real RabbitMQ and Redis)', function () {
  this.timeout(240_000);

  it('3 retry tiers → 4: starts on the old queues, reports the delivery limit, migrates, loses nothing', async () => {
    await scenario({ RETRY_DELAYS_MS: '100,200,400' }, { RETRY_DELAYS_MS: '100,200,400,800' }, (drift) =>
      assert.deepEqual(
        { argument: drift.argument, declared: drift.declared, actual: drift.actual },
        { argument: 'x-delivery-limit', declared: '9', actual: '8' },
      ),
    );
  });

  it('classic → quorum: starts on the classic queues, reports the queue type, migrates, loses nothing', async () => {
    // The broker names the first argument it finds different: on 3.10 `x-overflow` (none → reject-publish), one
    // of those a quorum declaration adds.
    await scenario({ QUEUE_TYPE: 'classic' }, { QUEUE_TYPE: 'quorum' }, (drift) =>
      assert.ok(QUORUM_ONLY.includes(drift.argument) && drift.declared !== drift.actual, JSON.stringify(drift)),
    );
  });
});

type Drift = { queue: string; argument: string; declared: string; actual: string };
const QUORUM_ONLY = ['x-queue-type', 'x-overflow', 'x-dead-letter-strategy', 'x-delivery-limit'];

async function scenario(before: Record<string, string>, after: Record<string, string>, expectDrift: (drift: Drift) => void): Promise<void> {
  const { vhost, url } = await createVhost('warren-drift');
  const ports = await fleetPorts(SERVICE_DECLARATIONS);
  const base = { AMQP_URL: url, REDIS_URL, REDIS_KEY_PREFIX: `${uniqueName('drift')}:`, ...ports.env, LOG_LEVEL: 'warn' };
  const envBefore = { ...base, ...before };
  const envAfter = { ...base, ...after };
  const fleet = new Fleet(ports);
  const product = uniqueName('P');
  const ids: string[] = [];
  try {
    await fleet.startAll(loadFleetConfig(envBefore));
    assert.equal((await http('PUT', `${ports.ops.inventory}/stock/${product}`, { available: 1000 })).status, 200);
    // Orders wait in the inventory and payment queues while their consumers are away.
    await fleet.stop('inventory', 'payment');
    ids.push(...(await placeOrders(ports.api, product, 10)));
    // Every other service too (order, and any service added to the registry): nothing consumes while queues change.
    await fleet.stop(...SERVICE_NAMES);
    const waiting = await queueDepths(url, ['warren.inventory', 'warren.payment']);
    assert.deepEqual(waiting, { 'warren.inventory': 10, 'warren.payment': 10 });

    // The new setting, over the old queues: the plan names the drift, the services start on the queues as they are.
    const planned = await plan(envAfter);
    const drifting = ['warren.order', 'warren.inventory', 'warren.payment'];
    for (const queue of drifting) {
      const state = planned.find((s) => s.queue === queue);
      assert.equal(state?.status, 'drift', `${queue}: ${JSON.stringify(state)}`);
      expectDrift(state);
    }
    const started = Date.now();
    await fleet.startAll(loadFleetConfig(envAfter));
    const readyMs = Date.now() - started;
    process.stdout.write(`      drift → started: ${readyMs} ms for the three services\n`);
    for (const name of SERVICE_NAMES) {
      // Ready on the queues as they are: a service only looks at its topology (a redeclaration to compare
      // arguments needs the configure permission no service user has); the plan above is where drift shows.
      const ready = await readyz(ports.ops[name]!);
      assert.equal(ready.body.checks.topology, true);
      assert.deepEqual(ready.body.details.topology.missing, []);
    }
    // Nothing lost: the orders that waited end.
    await awaitFinal(ports.api, ids);

    // The operator's migration, with messages waiting again and the consumers stopped.
    await fleet.stop('inventory', 'payment');
    ids.push(...(await placeOrders(ports.api, product, 10)));
    // Every other service too (order, and any service added to the registry): nothing consumes while queues change.
    await fleet.stop(...SERVICE_NAMES);
    const migrate = await cli(envAfter, ['migrate', '--all']);
    assert.equal(migrate.code, 0, migrate.err);
    assert.match(migrate.out, /migrated warren\.payment: 10 message\(s\) moved out and 10 back/);
    const clean = await plan(envAfter);
    assert.deepEqual(
      clean.filter((s) => s.status !== 'ok'),
      [],
    );
    assert.deepEqual(await queueDepths(url, ['warren.inventory', 'warren.payment']), { 'warren.inventory': 10, 'warren.payment': 10 });

    await fleet.startAll(loadFleetConfig(envAfter));
    for (const name of SERVICE_NAMES) {
      const ready = await readyz(ports.ops[name]!);
      assert.equal(ready.body.checks.topology, true);
    }
    const outcomes = await awaitFinal(ports.api, ids);
    assert.equal(outcomes.size, 20);
    await assertInvariants({ api: ports.api, inventory: ports.ops.inventory, payment: ports.ops.payment }, { [product]: 1000 }, outcomes);
  } finally {
    await fleet.stop(...SERVICE_NAMES);
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, base.REDIS_KEY_PREFIX);
    await redis.quit();
    await deleteVhost(vhost);
  }
}

/** The services of one scenario, started in order (consumers first) under a given configuration. */
class Fleet {
  private readonly runtimes = new Map<ServiceName, Runtime>();
  readonly logs = new LogCapture();

  constructor(private readonly ports: FleetPorts<ServiceName>) {}

  async startAll(config: WarrenConfig): Promise<void> {
    for (const name of startOrder(SERVICE_NAMES)) this.runtimes.set(name, await startService(name, config, { logDestination: this.logs }));
    assert.ok(this.ports.api);
  }

  async stop(...names: ServiceName[]): Promise<void> {
    await Promise.all(names.map((n) => this.runtimes.get(n)?.stop() ?? Promise.resolve()));
    for (const n of names) this.runtimes.delete(n);
  }
}

async function placeOrders(api: string, productId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await http('POST', `${api}/orders`, orderRequest({ items: [{ productId, quantity: 1 }], totalAmount: 10 + i }));
    assert.equal(r.status, 202);
    ids.push(r.body.orderId);
  }
  return ids;
}

async function cli(env: Record<string, string>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFleetTopologyCli(argv, { env, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

async function plan(env: Record<string, string>): Promise<(Drift & { status: string })[]> {
  const result = await cli(env, ['plan', '--json']);
  assert.equal(result.code, 0, result.err);
  return (JSON.parse(result.out) as { queues: (Drift & { status: string })[] }).queues;
}

/** A service's /readyz once it answers 200 (the Redis write probe reports its first write a moment after start). */
async function readyz(ops: string) {
  return waitFor(
    `${ops} ready`,
    async () => {
      const r = await http('GET', `${ops}/readyz`);
      return r.status === 200 ? r : undefined;
    },
    10_000,
    100,
  );
}
