import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Runtime } from '../../shared/lifecycle/runtime';
import { loadFleetConfig, SERVICE_DECLARATIONS } from '../../workers/registry';
import { startService } from '../../workers/services';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { fleetPorts } from '../helpers/fleet-ports';
import { AUTH_ENV, bearer, mintToken } from '../helpers/tokens';
import { sleep, waitFor } from '../helpers/wait';

const PROBLEM = /^application\/problem\+json/;
const LIMIT = 3;

/** What a test reads of one fleet: its keys, its outbox and its order metrics. */
function observe(fleet: TestFleet) {
  const prefix = fleet.config.redisKeyPrefix;
  const metric = async (name: string) => {
    const { body } = await http('GET', `${fleet.urls.ops.order}/metrics`);
    return [...String(body).matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  // The readiness probe rewrites its own key every 2 s: not a write of any request's.
  const keys = async () => new Set((await fleet.redis.keys(`${prefix}*`)).filter((k) => !k.endsWith(':_ready')));
  const counters = async () => [...(await keys())].filter((k) => k.startsWith(`${prefix}order:_rate:`));
  return {
    metric,
    keys,
    counters,
    /**
     * Runs refused requests and proves they wrote nothing: no new key (order, outbox entry, Idempotency-Key), the
     * customers' counts as they were, no order counted as placed. Waits first for the outbox to empty, so that
     * the earlier orders' own writes are over.
     */
    async writesNothing(refused: () => Promise<void>) {
      await waitFor('the outbox to empty', async () => (await fleet.redis.zcard(`${prefix}outbox:due`)) === 0, 30_000);
      const before = await keys();
      const counts = await Promise.all((await counters()).map(async (k) => [k, await fleet.redis.get(k)]));
      const placed = await metric('warren_orders_placed_total');
      await refused();
      assert.deepEqual(
        [...(await keys())].filter((k) => !before.has(k)),
        [],
        'a refused request wrote a key',
      );
      for (const [k, count] of counts) assert.equal(await fleet.redis.get(k!), count, `a refused request changed the count ${k}`);
      assert.equal(await metric('warren_orders_placed_total'), placed, 'a refused request placed an order');
      assert.equal(await fleet.redis.zcard(`${prefix}outbox:due`), 0, 'a refused request left an outbox entry');
    },
  };
}

describe('orders per customer are limited (real RabbitMQ and Redis)', function () {
  this.timeout(120_000);

  describe(`AUTH_MODE=hs256, ORDER_RATE_LIMIT=${LIMIT}: counted per token subject, across replicas`, () => {
    let fleet: TestFleet;
    let second: Runtime | undefined;
    let secondApi: string;
    let look: ReturnType<typeof observe>;

    before(async () => {
      // A window far longer than the tests: nothing here may depend on how fast they run.
      const env = { ...AUTH_ENV, ORDER_RATE_LIMIT: String(LIMIT), ORDER_RATE_WINDOW_MS: '600000', ORDER_TIMEOUT_MS: '600000' };
      fleet = await startTestFleet(env, ['order']);
      // A second order replica on the same Redis and prefix, as `--scale order=2` runs it.
      const ports = await fleetPorts(SERVICE_DECLARATIONS);
      const { opsPorts, apiPorts } = loadFleetConfig(ports.env);
      second = await startService('order', { ...fleet.config, opsPorts, apiPorts }, { logDestination: fleet.logs });
      secondApi = ports.api;
      look = observe(fleet);
    });
    after(async () => {
      await second?.stop();
      await fleet?.stop();
    });

    /** Places an order as `customer` (the token's subject; no customerId in the body) through `api`. */
    const place = async (customer: string, headers: Record<string, string> = {}, api = fleet.urls.api) => {
      const { customerId: _, ...body } = orderRequest();
      return http('POST', `${api}/orders`, body, { ...bearer(await mintToken(customer)), ...headers });
    };

    it(`accepts ${LIMIT} orders of a customer through either replica, then answers 429 with Retry-After, writing nothing`, async () => {
      const apis = [fleet.urls.api, secondApi, fleet.urls.api];
      for (const [i, api] of apis.entries()) assert.equal((await place('alice', {}, api)).status, 202, `order ${i + 1}`);
      const refusedBefore = await look.metric('warren_orders_rate_limited_total');
      await look.writesNothing(async () => {
        for (const api of [fleet.urls.api, secondApi]) {
          const r = await place('alice', { 'idempotency-key': randomUUID() }, api);
          assert.equal(r.status, 429, api);
          assert.match(String(r.headers.get('content-type')), PROBLEM);
          const retryAfter = Number(r.headers.get('retry-after'));
          assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 600, `Retry-After ${r.headers.get('retry-after')}`);
          assert.equal(r.body.status, 429);
          assert.equal(r.body.type, 'https://warren.dev/problems/rate-limited');
          assert.equal(r.body.limit, LIMIT);
          assert.equal(r.body.windowSeconds, 600);
          assert.match(r.body.detail, new RegExp(`at most ${LIMIT} orders per customer`));
        }
      });
      // Both replicas refused; each counts its own refusals (the scrape of the first one here), with no label of
      // its own: only the registry's `service`.
      assert.equal((await look.metric('warren_orders_rate_limited_total')) - refusedBefore, 1);
      const { body } = await http('GET', `${fleet.urls.ops.order}/metrics`);
      const series = String(body).match(/^warren_orders_rate_limited_total\b.*$/gm) ?? [];
      assert.deepEqual(
        series.map((line) => line.replace(/ \d+$/, '')),
        ['warren_orders_rate_limited_total{service="order"}'],
      );
    });

    it('leaves another customer unaffected', async () => {
      for (let i = 0; i < LIMIT; i++) assert.equal((await place('dave')).status, 202, `dave's order ${i + 1}`);
      assert.equal((await place('dave')).status, 429);
      for (let i = 0; i < LIMIT; i++) assert.equal((await place('erin')).status, 202, `erin's order ${i + 1}, dave at the limit`);
      assert.equal((await place('erin')).status, 429);
    });

    it('answers a retry of an accepted order with its Idempotency-Key as before, without counting it', async () => {
      const key = randomUUID();
      const first = await place('carol', { 'idempotency-key': key });
      assert.equal(first.status, 202);
      for (let i = 0; i < LIMIT; i++) {
        const again = await place('carol', { 'idempotency-key': key });
        assert.equal(again.status, 202, `retry ${i + 1}`);
        assert.equal(again.body.orderId, first.body.orderId);
      }
      // Had the retries counted, carol would be at the limit already.
      for (let i = 1; i < LIMIT; i++) assert.equal((await place('carol')).status, 202, `carol's order ${i + 1}`);
      // At the limit, the retry is still the same order (its client may never have seen the first answer).
      const atLimit = await place('carol', { 'idempotency-key': key });
      assert.equal(atLimit.status, 202);
      assert.equal(atLimit.body.orderId, first.body.orderId);
      assert.equal(atLimit.headers.get('location'), `/orders/${first.body.orderId}`);
      assert.equal((await place('carol', { 'idempotency-key': randomUUID() })).status, 429);
    });
  });

  describe(`AUTH_MODE=off, ORDER_RATE_LIMIT=${LIMIT}, a short window: counted per body customerId`, () => {
    let fleet: TestFleet;
    let look: ReturnType<typeof observe>;

    before(async () => {
      fleet = await startTestFleet({ ORDER_RATE_LIMIT: String(LIMIT), ORDER_RATE_WINDOW_MS: '2000', ORDER_TIMEOUT_MS: '600000' }, [
        'order',
      ]);
      look = observe(fleet);
    });
    after(async () => fleet?.stop());

    const place = (customerId: string) => http('POST', `${fleet.urls.api}/orders`, orderRequest({ customerId }));

    it('opens a new window once Retry-After has passed', async () => {
      // However slow this machine, the window cannot close before the refusal unless more than LIMIT got in,
      // so place until one is refused (a window that closed meanwhile just lets a few more through).
      let refused: Awaited<ReturnType<typeof place>> | undefined;
      for (let i = 0; i < 10 * LIMIT && !refused; i++) {
        const r = await place('window-1');
        if (r.status === 429) refused = r;
        else assert.equal(r.status, 202);
      }
      assert.ok(refused, 'never refused');
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter} within the 2 s window`);
      await sleep(retryAfter * 1000);
      assert.equal((await place('window-1')).status, 202, 'refused after Retry-After had passed');
    });

    it("keys a hostile customerId by its hash under the service's prefix: bounded, no part of it in the key", async () => {
      const hostile = `x:${'*?[]{}'.repeat(10)}:order:_deadlines\\${'z'.repeat(60)}`.slice(0, 128);
      assert.equal((await place(hostile)).status, 202);
      const counters = await look.counters();
      assert.ok(counters.length > 0);
      for (const key of counters) assert.match(key, new RegExp(`^${fleet.config.redisKeyPrefix}order:_rate:[0-9a-f]{64}$`));
      for (const key of await look.keys()) assert.ok(!key.includes('*?[]'), `${key} holds the customer id`);
      // Every count expires with its window (-2: it already has).
      for (const key of counters) {
        const left = await fleet.redis.pttl(key);
        assert.ok(left !== -1 && left <= 2000, `${key} expires in ${left} ms`);
      }
    });
  });
});
