import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { publishRaw } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';
import { AUTH_ENV, bearer, mintToken, TEST_OPS_TOKEN } from '../helpers/tokens';

const PROBLEM = /^application\/problem\+json/;
/** The price authority of this fleet: P001 at 150.00 USD, P002 at 2.50 USD or 400 JPY. */
const PRICE_LIST = JSON.stringify({ P001: { USD: 150 }, P002: { USD: 2.5, JPY: 400 } });

/** One raw HTTP exchange: what the server sent before it closed the connection (or `waitMs` passed). */
function rawExchange(port: number, chunks: string[], waitMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
  });
}

describe('hostile HTTP: authentication, edges and money (real RabbitMQ and Redis)', function () {
  this.timeout(120_000);
  let fleet: TestFleet;
  let api: string;
  let inventory: string;
  let apiPort: number;

  before(async () => {
    fleet = await startTestFleet({ ...AUTH_ENV, PRICE_LIST, HTTP_REQUEST_TIMEOUT_MS: '1000' });
    api = fleet.urls.api;
    inventory = fleet.urls.ops.inventory;
    apiPort = Number(new URL(api).port);
  });
  after(async () => fleet?.stop());

  /** Keys under the fleet's prefix, but the readiness write probe's. */
  const keys = async () => new Set((await fleet.redis.keys(`${fleet.config.redisKeyPrefix}*`)).filter((k) => !/probe/i.test(k)));
  const placedTotal = async () => {
    const { body } = await http('GET', `${fleet.urls.ops.order}/metrics`);
    return [...String(body).matchAll(/^warren_orders_placed_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  /**
   * The key set once it has not changed for a second: an earlier order's effects (reservation, ledger, claims,
   * the OrderConfirmed round) land asynchronously, and under load they would look like a refused request's writes.
   */
  const settledKeys = async () => {
    let last: string | undefined;
    return waitFor(
      'the fleet to stop adding keys',
      async () => {
        const now = await keys();
        const snapshot = [...now].sort().join('\n');
        const unchanged = snapshot === last;
        last = snapshot;
        return unchanged && now;
      },
      30_000,
      1_000,
    );
  };
  /** Runs refused requests and proves they wrote nothing: no new key, no order counted as placed. */
  const writesNothing = async (refused: () => Promise<void>) => {
    const [before, placed] = [await settledKeys(), await placedTotal()];
    await refused();
    const added = [...(await keys())].filter((k) => !before.has(k));
    assert.deepEqual(added, [], 'a refused request wrote to Redis');
    assert.equal(await placedTotal(), placed, 'a refused request placed an order');
  };

  describe('authentication', () => {
    it('refuses a missing, forged, expired or foreign token with 401 problem+json, writing nothing', async () => {
      const tokens = {
        none: undefined,
        'not a JWT': 'abc.def.ghi',
        'bad signature': await mintToken('c-1', { secret: 'someone-elses-secret-of-32-characters' }),
        expired: await mintToken('c-1', { expiresIn: -120 }),
        'wrong audience': await mintToken('c-1', { audience: 'another-app' }),
      };
      await writesNothing(async () => {
        for (const [what, token] of Object.entries(tokens)) {
          const r = await http('POST', `${api}/orders`, orderRequest({ customerId: undefined as never }), token ? bearer(token) : {});
          assert.equal(r.status, 401, what);
          assert.match(String(r.headers.get('content-type')), PROBLEM, what);
          assert.match(String(r.headers.get('www-authenticate')), /^Bearer/, what);
          assert.equal((await http('GET', `${api}/orders/anything`, undefined, token ? bearer(token) : {})).status, 401, what);
        }
      });
    });

    it('takes the customer from the token; another customer neither orders as them nor sees their order', async () => {
      const alice = bearer(await mintToken('alice'));
      const bob = bearer(await mintToken('bob'));
      const { customerId: _, ...body } = orderRequest();
      const placed = await http('POST', `${api}/orders`, body, alice);
      assert.equal(placed.status, 202);
      const mine = await http('GET', `${api}/orders/${placed.body.orderId}`, undefined, alice);
      assert.equal(mine.body.customerId, 'alice');
      const theirs = await http('GET', `${api}/orders/${placed.body.orderId}`, undefined, bob);
      assert.equal(theirs.status, 404);
      assert.match(String(theirs.headers.get('content-type')), PROBLEM);
      await writesNothing(async () => {
        const forged = await http('POST', `${api}/orders`, { ...body, customerId: 'alice' }, bob);
        assert.equal(forged.status, 403);
        assert.equal(forged.body.field, '/customerId');
      });
      assert.equal((await http('POST', `${api}/orders`, { ...body, customerId: 'alice' }, alice)).status, 202);
    });

    it('an order adopted from a seed-shaped OrderPlaced is nobody\'s: a token whose subject is "unknown" does not see it', async () => {
      const orderId = `seed-hostile-${Date.now()}`;
      const seed = {
        eventType: 'OrderPlaced',
        orderId,
        items: [{ productId: 'P001', quantity: 1 }],
        totalAmount: 75,
        timestamp: new Date().toISOString(),
      };
      await publishRaw(fleet.config.amqpUrl, fleet.config.eventsExchange, 'order.placed', JSON.stringify(seed));
      await waitFor(
        'the order to be adopted',
        async () => (await fleet.redis.exists(`${fleet.config.redisKeyPrefix}order:${orderId}`)) === 1 || undefined,
      );
      const asUnknown = await http('GET', `${api}/orders/${orderId}`, undefined, bearer(await mintToken('unknown')));
      assert.equal(asUnknown.status, 404);
    });

    it('PUT /stock needs the ops token; stock is unchanged without it; /metrics, /healthz, /readyz stay open', async () => {
      assert.equal((await http('PUT', `${inventory}/stock/HOSTILE-1`, { available: 5 }, bearer(TEST_OPS_TOKEN))).status, 200);
      for (const headers of [{}, bearer('wrong-token'), bearer(await mintToken('alice'))]) {
        const r = await http('PUT', `${inventory}/stock/HOSTILE-1`, { available: 1_000_000 }, headers);
        assert.equal(r.status, 401);
        assert.match(String(r.headers.get('content-type')), PROBLEM);
      }
      assert.equal((await http('GET', `${inventory}/stock/HOSTILE-1`, undefined, bearer(TEST_OPS_TOKEN))).body.available, 5);
      for (const ops of Object.values(fleet.urls.ops))
        for (const path of ['/metrics', '/healthz', '/readyz'])
          assert.equal((await http('GET', `${ops}${path}`)).status, 200, `${ops}${path}`);
    });
  });

  describe('money', () => {
    const refusals: [string, Record<string, unknown>, string][] = [
      ['a made-up currency', { currency: 'ABC' }, '/currency'],
      ['a testing currency', { currency: 'XTS' }, '/currency'],
      ['a denormal amount', { totalAmount: 5e-324 }, '/totalAmount'],
      ['too many decimals', { totalAmount: 150.001 }, '/totalAmount'],
      ['decimals JPY has not', { currency: 'JPY', items: [{ productId: 'P002', quantity: 1 }], totalAmount: 400.5 }, '/totalAmount'],
      ['a total off the price list', { totalAmount: 0.01 }, '/totalAmount'],
      ['a product without a price', { items: [{ productId: 'NO-PRICE', quantity: 1 }], totalAmount: 1 }, '/items/0/productId'],
      ['a currency the product has no price in', { currency: 'EUR' }, '/items/0/productId'],
    ];
    for (const [i, [what, overrides, field]] of refusals.entries()) {
      it(`refuses ${what} with 400 naming ${field}, writing nothing`, async () => {
        const token = bearer(await mintToken('carol'));
        await writesNothing(async () => {
          const r = await http(
            'POST',
            `${api}/orders`,
            { ...orderRequest({ customerId: 'carol' }), ...overrides },
            { ...token, 'idempotency-key': `money-${i}` },
          );
          assert.equal(r.status, 400, JSON.stringify(r.body));
          assert.match(String(r.headers.get('content-type')), PROBLEM);
          assert.equal(r.body.field, field);
        });
      });
    }

    it('takes an order whose total matches the price list', async () => {
      const body = orderRequest({
        customerId: 'carol',
        items: [
          { productId: 'P001', quantity: 2 },
          { productId: 'P002', quantity: 3 },
        ],
        totalAmount: 307.5,
      });
      assert.equal((await http('POST', `${api}/orders`, body, bearer(await mintToken('carol')))).status, 202);
    });
  });

  describe('Idempotency-Key', () => {
    it('binds to the canonical body: reordered keys are the same order, another body is 409', async () => {
      const token = bearer(await mintToken('dave'));
      const headers = { ...token, 'idempotency-key': 'reorder-1' };
      const first = await http(
        'POST',
        `${api}/orders`,
        '{"customerId":"dave","items":[{"productId":"P001","quantity":1}],"totalAmount":150,"currency":"USD","paymentToken":"tok_visa"}',
        headers,
      );
      const reordered = await http(
        'POST',
        `${api}/orders`,
        '{"paymentToken":"tok_visa","currency":"USD","totalAmount":150.0,"items":[{"quantity":1,"productId":"P001"}],"customerId":"dave"}',
        headers,
      );
      assert.equal(first.status, 202);
      assert.equal(reordered.status, 202);
      assert.equal(reordered.body.orderId, first.body.orderId);
      const other = await http('POST', `${api}/orders`, orderRequest({ customerId: 'dave', paymentToken: 'tok_other' }), headers);
      assert.equal(other.status, 409);
    });

    it('is scoped to the customer: the same key from another customer is another order', async () => {
      const key = { 'idempotency-key': 'shared-key-1' };
      const erin = await http('POST', `${api}/orders`, orderRequest({ customerId: undefined as never }), {
        ...bearer(await mintToken('erin')),
        ...key,
      });
      const frank = await http('POST', `${api}/orders`, orderRequest({ customerId: undefined as never }), {
        ...bearer(await mintToken('frank')),
        ...key,
      });
      assert.equal(erin.status, 202);
      assert.equal(frank.status, 202);
      assert.notEqual(frank.body.orderId, erin.body.orderId);
    });
  });

  describe('HTTP edges', () => {
    it('cuts a slow body with 408 problem+json and closes the connection', async () => {
      const token = await mintToken('slow');
      const head = `POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"customerId":`;
      const { text, closed } = await rawExchange(apiPort, [head], 20_000);
      assert.ok(closed, 'the server kept a slow-body connection open');
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /content-type: application\/problem\+json/i);
    });

    it('answers oversized headers 431, an unmatched route 404 and a long URL 414, all problem+json', async () => {
      const big = await rawExchange(apiPort, [`GET /orders/x HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20_000)}\r\n\r\n`], 10_000);
      assert.match(big.text, /^HTTP\/1\.1 431 /);
      assert.match(big.text, /application\/problem\+json/i);
      const token = bearer(await mintToken('alice'));
      const missing = await http('GET', `${api}/nowhere`, undefined, token);
      assert.equal(missing.status, 404);
      assert.match(String(missing.headers.get('content-type')), PROBLEM);
      const long = await http('GET', `${api}/orders/${'a'.repeat(3000)}`, undefined, token);
      assert.equal(long.status, 414);
      assert.match(String(long.headers.get('content-type')), PROBLEM);
    });

    it('still takes orders after all of the above', async () => {
      const r = await http('POST', `${api}/orders`, orderRequest({ customerId: undefined as never }), bearer(await mintToken('zoe')));
      assert.equal(r.status, 202);
    });
  });
});
