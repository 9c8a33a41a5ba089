import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startTestFleet } from '../helpers/fleet';

const RUN = path.resolve(__dirname, '../../dist/workers/run.js');

/** Starts a service as the image does (`node dist/workers/run.js`), authentication and prices explicitly off. */
function runAsImage(service: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [RUN, service], {
    env: { PATH: process.env['PATH'] ?? '', AUTH_MODE: 'off', PRICE_LIST: 'off', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('payment-token keys at start-up: required in the image, a dev key with a warning on a laptop', function () {
  this.timeout(60_000);

  for (const service of ['order', 'payment']) {
    it(`the image (NODE_ENV=production) refuses to start ${service} without PAYMENT_TOKEN_KEYS, in one line`, () => {
      const run = runAsImage(service, { NODE_ENV: 'production' });
      assert.equal(run.status, 78, run.stderr);
      assert.match(run.stderr, /^Invalid configuration: PAYMENT_TOKEN_KEYS: required in production[^\n]*\n$/);
    });
  }

  it('a bad key stops start-up naming the variable, never echoing the key', () => {
    const run = runAsImage('payment', { NODE_ENV: 'production', PAYMENT_TOKEN_KEYS: 'k1:c2hvcnQtc2VjcmV0LWtleQ==' });
    assert.equal(run.status, 78, run.stderr);
    assert.match(run.stderr, /^Invalid configuration: PAYMENT_TOKEN_KEYS: key k1: expected 32 bytes in base64, got 16\n$/);
    assert.doesNotMatch(run.stderr, /c2hvcnQ/);
  });

  it('a laptop fleet seals with the published dev key and says so at start-up', async () => {
    const fleet = await startTestFleet({}, ['payment']);
    try {
      const warning = fleet.logs.entries().find((e) => e['level'] === 'warn' && /PAYMENT_TOKEN_KEYS is unset/.test(String(e['msg'])));
      assert.ok(warning, 'no start-up warning that the dev key is in use');
    } finally {
      await fleet.stop();
    }
  });
});
