import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Runtime } from '../../shared/lifecycle/runtime';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { CLAIM_FUNCTIONS } from '../../shared/idempotency/claims';
import { loadLibraries } from '../../shared/redis/script';
import { FLEET_LIBRARIES } from '../../workers/redis-functions';
import { startService } from '../../workers/services';
import { http, orderRequest } from '../helpers/api';
import { createVhost, deleteVhost } from '../helpers/broker';
import { fleetPorts, startOrder } from '../helpers/fleet-ports';
import { LogCapture } from '../helpers/log-capture';
import { SecureRedis } from '../helpers/own-secure-redis';
import { waitFor } from '../helpers/wait';
import { aclWithFreshPasswords } from './redis-acl-file';

/**
 * One Redis ACL user per service, from the generated template rendered by the same script compose runs, loaded
 * into a redis-server of the test's own (never the shared Redis): each service works with its user alone, and
 * each user is refused every other service's keys and the commands no service needs.
 */
describe('Redis ACL users, one per service (own redis-server with the rendered ACL file)', function () {
  this.timeout(120_000);
  const { template, passwords, render } = aclWithFreshPasswords();
  const userOf = (service: ServiceName) => template.users.find((u) => u.name === `warren-${service}`)!;
  let dir: string;
  let redis: SecureRedis;
  const clients: Redis[] = [];
  const client = (user: string, password: string) => {
    const c = new Redis(redis.url(user, password), { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    c.on('error', () => undefined); // refusals are asserted on the commands
    clients.push(c);
    return c;
  };
  const asService = (service: ServiceName) => client(userOf(service).name, passwords[userOf(service).password_env]!);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'warren-redis-acl-'));
    const aclFile = path.join(dir, 'users.acl');
    await render(aclFile);
    redis = await SecureRedis.start({ aclFile });
    // The operator's step (compose's redis-functions one-shot): service users may only call the functions.
    await loadLibraries(client('default', passwords[template.admin.password_env]!), FLEET_LIBRARIES);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('declares a user for every service, with its own keys only', () => {
    assert.deepEqual(template.users.map((u) => u.name).sort(), SERVICE_NAMES.map((s) => `warren-${s}`).sort());
    for (const user of template.users) assert.ok(user.keys.length > 0 && !user.keys.includes('*'), `${user.name}: ${user.keys}`);
  });

  it('runs the fleet with each service as its own user: orders confirmed and cancelled, no NOPERM', async () => {
    const { vhost, url } = await createVhost();
    const ports = await fleetPorts(SERVICE_DECLARATIONS);
    const base = loadFleetConfig({
      AMQP_URL: url,
      REDIS_URL: redis.url(),
      ...ports.env,
      RETRY_DELAYS_MS: '100,200,400',
      SHUTDOWN_TIMEOUT_MS: '3000',
    });
    const logs = new LogCapture();
    const runtimes: Runtime[] = [];
    try {
      for (const name of startOrder(SERVICE_NAMES)) {
        const { name: user, password_env } = userOf(name);
        runtimes.push(await startService(name, { ...base, redisUrl: redis.url(user, passwords[password_env]) }, { logDestination: logs }));
      }
      assert.equal((await http('PUT', `${ports.ops.inventory}/stock/ACL-1`, { available: 3 })).status, 200);
      const approve = await http('POST', `${ports.api}/orders`, orderRequest({ items: [{ productId: 'ACL-1', quantity: 1 }] }));
      const decline = await http(
        'POST',
        `${ports.api}/orders`,
        orderRequest({ items: [{ productId: 'ACL-1', quantity: 1 }], paymentToken: 'tok_decline' }),
      );
      const flaky = await http(
        'POST',
        `${ports.api}/orders`,
        orderRequest({ items: [{ productId: 'ACL-1', quantity: 1 }], paymentToken: 'tok_flaky' }),
      );
      for (const [placed, wanted] of [
        [approve, 'CONFIRMED'],
        [decline, 'CANCELLED'],
        [flaky, 'CONFIRMED'],
      ] as const) {
        assert.equal(placed.status, 202, JSON.stringify(placed.body));
        await waitFor(
          `order ${wanted}`,
          async () => (await http('GET', `${ports.api}/orders/${placed.body.orderId}`)).body.status === wanted,
        );
      }
      const stock = await http('GET', `${ports.ops.inventory}/stock/ACL-1`);
      assert.deepEqual({ available: stock.body.available, reserved: stock.body.reserved }, { available: 1, reserved: 0 });
      assert.equal((await http('GET', `${ports.ops.payment}/payments/${approve.body.orderId}`)).body.captures, 1);
      assert.ok(!logs.text().includes('NOPERM'), 'a service was refused a command or key it needs');
    } finally {
      for (const runtime of runtimes.reverse()) await runtime.stop();
      await deleteVhost(vhost);
    }
  });

  it("refuses each service another service's keys, also inside a function", async () => {
    // Any Warren function that writes its KEYS[1] will do: the claims' `claim` (SET NX).
    const claim = `${CLAIM_FUNCTIONS.name}_claim`;
    for (const service of SERVICE_NAMES) {
      const c = asService(service);
      for (const other of template.users.filter((u) => u.name !== userOf(service).name)) {
        for (const pattern of other.keys) {
          const key = `warren:${pattern.replace('*', 'probe')}`;
          await assert.rejects(c.get(key), /NOPERM/, `${service} read ${key}`);
          await assert.rejects(c.set(key, 'x'), /NOPERM/, `${service} wrote ${key}`);
          await assert.rejects(c.fcall(claim, 1, key, 'x', 1000), /NOPERM/, `${service} wrote ${key} in a function`);
        }
      }
      // Its own keys, the same way, succeed: the refusals above are about whose keys they are.
      const own = `warren:${userOf(service).keys[0]!.replace('*', 'probe')}`;
      assert.equal(await c.fcall(claim, 1, own, 'x', 1000), 'OK');
    }
  });

  it('refuses FLUSHALL, CONFIG, KEYS, SCAN and other admin commands to every service user', async () => {
    for (const service of SERVICE_NAMES) {
      const c = asService(service);
      const refused: [string, () => Promise<unknown>][] = [
        ['FLUSHALL', () => c.flushall()],
        ['FLUSHDB', () => c.flushdb()],
        ['CONFIG GET', () => c.config('GET', '*')],
        ['CONFIG SET', () => c.config('SET', 'appendonly', 'no')],
        ['KEYS', () => c.keys('*')],
        ['SCAN', () => c.scan(0)],
        ['ACL LIST', () => c.acl('LIST')],
        ['CLIENT LIST', () => c.call('CLIENT', 'LIST')],
        ['SHUTDOWN', () => c.call('SHUTDOWN', 'NOSAVE')],
        ['PUBLISH', () => c.call('PUBLISH', 'warren', 'x')],
      ];
      for (const [what, command] of refused) await assert.rejects(command(), /NOPERM/, `${service} ran ${what}`);
    }
    await assert.rejects(client('warren-order', 'wrong').ping(), /WRONGPASS/);
    await assert.rejects(client('default', 'wrong').ping(), /WRONGPASS/);
    const admin = client('default', passwords[template.admin.password_env]!);
    assert.deepEqual(await admin.acl('WHOAMI'), 'default');
    assert.ok((await admin.keys('warren:*')).length > 0, 'the operator may list keys (the refusals are per user)');
  });
});
