import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '../../shared/observability/logger';
import { createMetrics } from '../../shared/observability/metrics';
import { LOAD_FUNCTIONS_STEP, RedisFunctionsMissingError } from '../../shared/redis/script';
import { WriteProbe } from '../../shared/redis/write-probe';
import { StockStore } from '../../workers/inventory/store/stock-store';
import { Ledger } from '../../workers/payment/store/ledger';
import { FLEET_LIBRARIES, runFleetRedisFunctionsCli } from '../../workers/redis-functions';
import { LogCapture } from '../helpers/log-capture';
import { SecureRedis } from '../helpers/own-secure-redis';
import { aclWithFreshPasswords } from './redis-acl-file';

/**
 * Issue 23, finding 3: a service user that may run Lua of its own (`EVAL 'while true do end' 0`) answers every other
 * client BUSY, and may not SCRIPT KILL it. Each service user now calls the operator's Redis functions only. Against
 * a redis-server of the test's own with the generated ACL (the shared Redis is never reconfigured).
 */
describe('Redis functions: no service user can stall another (own redis-server with the rendered ACL)', function () {
  this.timeout(60_000);
  const { template, passwords, render } = aclWithFreshPasswords();
  const passwordOf = (user: string) => passwords[[template.admin, ...template.users].find((u) => u.name === user)!.password_env]!;
  let dir: string;
  let redis: SecureRedis;
  const clients: Redis[] = [];
  const client = (user: string) => {
    const c = new Redis(redis.url(user, passwordOf(user)), { maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined); // refusals are asserted on the commands
    clients.push(c);
    return c;
  };
  const operatorCli = async (command: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runFleetRedisFunctionsCli([command], {
      env: { REDIS_URL: redis.url('default', passwordOf('default')) },
      out: (s) => out.push(s),
      err: (s) => err.push(s),
    });
    return { code, out: out.join(''), err: err.join('') };
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'warren-redis-functions-'));
    const aclFile = path.join(dir, 'users.acl');
    await render(aclFile);
    redis = await SecureRedis.start({ aclFile });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a service user that sends a script that never returns leaves another service's commands answered", async () => {
    const admin = client('default');
    const inventory = client('warren-inventory');
    const payment = client('warren-payment');
    // Fire and forget: where the ACL lets it through, this call never answers, and payment's below gets BUSY.
    const hostile = [
      inventory.eval('while true do end', 0),
      inventory.call('EVAL_RO', 'while true do end', 0),
      inventory.call('SCRIPT', 'LOAD', 'while true do end').then((sha) => inventory.evalsha(String(sha), 0)),
      inventory.call('FUNCTION', 'LOAD', "#!lua name=stall\nredis.register_function('stall', function() while true do end end)"),
    ].map((p) =>
      p.then(
        () => 'ran',
        (error: Error) => error.message,
      ),
    );
    try {
      // Past Redis' busy-reply threshold (5 s by default, 100 ms here) a blocked server answers BUSY.
      await admin.config('SET', 'busy-reply-threshold', '100');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      assert.equal(await payment.set('warren:payment:STALL-1', 'x'), 'OK', 'payment was answered');
      assert.ok(Date.now() - started < 1000, `payment waited ${Date.now() - started} ms`);
      for (const answer of await Promise.all(hostile)) assert.match(answer, /^NOPERM/, `inventory ran its own Lua: ${answer}`);
    } finally {
      // Only where the ACL let a script through: end it, so the server can stop.
      await admin.call('SCRIPT', 'KILL').catch(() => undefined);
      await admin.call('FUNCTION', 'KILL').catch(() => undefined);
    }
  });

  it('refuses every service user Lua and FUNCTION administration; the operator may', async () => {
    for (const user of template.users.map((u) => u.name)) {
      const c = client(user);
      const refused: [string, () => Promise<unknown>][] = [
        ['EVAL', () => c.eval('return 1', 0)],
        ['EVALSHA', () => c.evalsha('e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 0)],
        ['EVALSHA_RO', () => c.call('EVALSHA_RO', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 0)],
        ['SCRIPT LOAD', () => c.call('SCRIPT', 'LOAD', 'return 1')],
        ['SCRIPT KILL', () => c.call('SCRIPT', 'KILL')],
        ['FUNCTION LOAD', () => c.call('FUNCTION', 'LOAD', "#!lua name=x\nredis.register_function('x', function() return 1 end)")],
        ['FUNCTION DELETE', () => c.call('FUNCTION', 'DELETE', FLEET_LIBRARIES[0]!.name)],
        ['FUNCTION FLUSH', () => c.call('FUNCTION', 'FLUSH')],
        ['FUNCTION LIST', () => c.call('FUNCTION', 'LIST')],
        ['SELECT', () => c.select(1)],
        ['ROLE', () => c.call('ROLE')],
      ];
      for (const [what, command] of refused) await assert.rejects(command(), /NOPERM/, `${user} ran ${what}`);
    }
    assert.equal(await client('default').eval('return 1', 0), 1, 'the operator keeps every right');
  });

  it('a service user cannot load the libraries: its store fails transiently naming the operator step, and it stays unready', async () => {
    await client('default').call('FUNCTION', 'FLUSH');
    const inventory = client('warren-inventory');
    const logs = new LogCapture();
    const probe = new WriteProbe(
      inventory,
      'warren:inventory:_ready',
      createLogger({ service: 'inventory', level: 'info', destination: logs }),
    );
    await probe.probe();
    await probe.probe();
    assert.equal(probe.ok, false, 'ready without its functions');
    const refusals = logs.entries().filter((e) => String(e['msg']).includes(LOAD_FUNCTIONS_STEP));
    assert.equal(refusals.length, 1, `one line naming the operator step, once: ${logs.text()}`);
    assert.match(String(refusals[0]!['msg']), /warren-inventory may not load them \(NOPERM\)/);

    const stock = new StockStore(inventory, 'warren:', 60_000, createMetrics('inventory-functions-test'));
    await assert.rejects(stock.reserve('FN-1', [{ productId: 'FN-P', quantity: 1 }]), RedisFunctionsMissingError);
    assert.equal(await client('default').exists('warren:inventory:order:FN-1'), 0, 'nothing written');

    const loaded = await operatorCli('load');
    assert.equal(loaded.code, 0, loaded.err);
    assert.equal(loaded.out.match(/^loaded /gm)?.length, FLEET_LIBRARIES.length, loaded.out);
    await probe.probe();
    assert.equal(probe.ok, true, 'ready once the operator loaded the libraries');
    await inventory.hset('warren:stock:FN-P', 'available', 1);
    assert.equal((await stock.reserve('FN-1', [{ productId: 'FN-P', quantity: 1 }])).status, 'RESERVED');
  });

  it('a user that may load (the operator, a laptop) loads what is missing itself, also after Redis lost it', async () => {
    const admin = client('default');
    await admin.call('FUNCTION', 'FLUSH');
    const logs = new LogCapture();
    const probe = new WriteProbe(
      admin,
      'warren:inventory:_ready',
      createLogger({ service: 'inventory', level: 'info', destination: logs }),
    );
    await probe.probe();
    assert.equal(probe.ok, true);
    assert.equal(logs.entries('loaded Redis functions').length, 1, logs.text());
    // Lost under a running service (FUNCTION FLUSH, a Redis restarted without persistence): its next call reloads.
    await admin.call('FUNCTION', 'FLUSH');
    const ledger = new Ledger(admin, 'warren:', 60_000, createMetrics('default-functions-test'));
    assert.equal((await ledger.observe('FN-3', { amount: 2, currency: 'USD' })).amount, 2);
  });

  it("lets a service user call the fleet's functions on its own keys only", async () => {
    assert.equal((await operatorCli('load')).code, 0);
    const metrics = createMetrics('payment-functions-test');
    const asInventory = new Ledger(client('warren-inventory'), 'warren:', 60_000, metrics);
    await assert.rejects(asInventory.observe('FN-2', { amount: 1, currency: 'USD' }), /NOPERM/, "inventory wrote payment's ledger");
    const asPayment = new Ledger(client('warren-payment'), 'warren:', 60_000, metrics);
    assert.equal((await asPayment.observe('FN-2', { amount: 1, currency: 'USD' })).amount, 1);
  });

  it('the operator tool reports what is loaded and prunes only other releases', async () => {
    const admin = client('default');
    await admin.call(
      'FUNCTION',
      'LOAD',
      "#!lua name=warren_order_00000000000000aa\nredis.register_function('warren_order_00000000000000aa_x', function() return 1 end)",
    );
    const status = await operatorCli('status');
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /^other release warren_order_00000000000000aa$/m);
    const pruned = await operatorCli('prune');
    assert.equal(pruned.out, 'deleted warren_order_00000000000000aa\n');
    assert.equal((await operatorCli('status')).out.match(/^present /gm)?.length, FLEET_LIBRARIES.length);
    await admin.call('FUNCTION', 'DELETE', FLEET_LIBRARIES[0]!.name);
    const missing = await operatorCli('status');
    assert.equal(missing.code, 1);
    assert.match(missing.out, new RegExp(`^missing ${FLEET_LIBRARIES[0]!.name}$`, 'm'));
  });
});
