import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { startTestFleet } from '../helpers/fleet';
import { AUTH_ENV, bearer, mintToken, TEST_OPS_TOKEN } from '../helpers/tokens';

/**
 * The ops ports' admin reads (the payment ledger's amounts, stock) behind the ops token in every AUTH_MODE, on the
 * real services (inventory and payment, Redis, the broker): the second security review read `GET /payments/:id`
 * from any pod. The order service is left out: its ops port has no admin route, and the others need no customer.
 */
const MODES: Record<string, Record<string, string>> = {
  // The image's mode. Neither service verifies a customer's token; a JWKS on a closed port fails fast if one tried.
  jwt: { AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'https://127.0.0.1:1/jwks.json', AUTH_AUDIENCE: 'warren-test', OPS_TOKEN: TEST_OPS_TOKEN },
  hs256: AUTH_ENV,
  // Authentication off for customers, but an ops token set: it is honoured, for reads too.
  off: { AUTH_MODE: 'off', OPS_TOKEN: TEST_OPS_TOKEN },
};

describe('ops ports: admin reads need the ops token in every AUTH_MODE', function () {
  this.timeout(60_000);

  for (const [mode, env] of Object.entries(MODES)) {
    it(`AUTH_MODE=${mode}: GET /stock and GET /payments are 401 without the token or with another, answered with it`, async () => {
      const fleet = await startTestFleet(env, ['inventory', 'payment']);
      try {
        const { inventory, payment } = fleet.urls.ops;
        const ops = bearer(TEST_OPS_TOKEN);
        assert.equal((await http('PUT', `${inventory}/stock/OPS-READ`, { available: 7 }, ops)).status, 200);
        // A customer's JWT is not an ops credential either.
        const refusals = [{}, bearer('not-the-ops-token'), bearer(await mintToken('alice'))];
        for (const url of [`${inventory}/stock/OPS-READ`, `${payment}/payments/OPS-READ-ORDER`]) {
          for (const headers of refusals) {
            const r = await http('GET', url, undefined, headers);
            assert.equal(r.status, 401, `${mode} GET ${url} with ${JSON.stringify(headers)}: ${JSON.stringify(r.body)}`);
            assert.match(String(r.headers.get('www-authenticate')), /^Bearer realm="ops"/);
          }
        }
        assert.deepEqual((await http('GET', `${inventory}/stock/OPS-READ`, undefined, ops)).body, {
          productId: 'OPS-READ',
          available: 7,
          reserved: 0,
        });
        // No payment for that order: the token reached the ledger, which answers 404 (not 401).
        assert.equal((await http('GET', `${payment}/payments/OPS-READ-ORDER`, undefined, ops)).status, 404);
        for (const url of [inventory, payment])
          for (const path of ['/metrics', '/healthz', '/readyz'])
            assert.equal((await http('GET', `${url}${path}`)).status, 200, `${mode}: ${url}${path} stays open`);
      } finally {
        await fleet.stop();
      }
    });
  }
});
