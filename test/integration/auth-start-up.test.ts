import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startTestFleet } from '../helpers/fleet';

const RUN = path.resolve(__dirname, '../../dist/workers/run.js');

/** Starts a service as the image does (`node dist/workers/run.js`), with only the given environment. */
function runAsImage(env: Record<string, string>) {
  return spawnSync(process.execPath, [RUN, 'order'], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('authentication at start-up: secure in the image, open with a warning on a laptop', function () {
  this.timeout(60_000);

  it('the image (NODE_ENV=production) refuses to start without auth settings, in one line naming AUTH_MODE', () => {
    const run = runAsImage({ NODE_ENV: 'production' });
    assert.equal(run.status, 78, run.stderr);
    assert.match(run.stderr, /^Invalid configuration: AUTH_MODE: required when NODE_ENV=production.*\n$/);
  });

  it('names the missing setting of the chosen mode, and never the secret', () => {
    const run = runAsImage({ NODE_ENV: 'production', AUTH_MODE: 'jwt', OPS_TOKEN: 'too-short-secret' });
    assert.equal(run.status, 78, run.stderr);
    assert.match(run.stderr, /^Invalid configuration: OPS_TOKEN: must be at least 32 characters\n$/);
    assert.doesNotMatch(run.stderr, /too-short-secret/);
  });

  it('the image refuses the development identity (hs256), whatever its secret', () => {
    const run = runAsImage({
      NODE_ENV: 'production',
      AUTH_MODE: 'hs256',
      AUTH_JWT_SECRET: 'a-long-enough-shared-secret-0123456789',
      OPS_TOKEN: 'an-ops-token-of-at-least-32-characters',
    });
    assert.equal(run.status, 78, run.stderr);
    assert.match(
      run.stderr,
      /^Invalid configuration: AUTH_MODE: hs256 is the development identity and is refused when NODE_ENV=production/,
    );
  });

  it('with authentication off, an OPS_TOKEN that is set still guards the ops writes', async () => {
    const opsToken = 'an-ops-token-of-at-least-32-characters';
    const fleet = await startTestFleet({ AUTH_MODE: 'off', OPS_TOKEN: opsToken }, ['inventory']);
    try {
      const url = `${fleet.urls.ops.inventory}/stock/P-OPS`;
      const body = JSON.stringify({ available: 3 });
      const put = (headers: Record<string, string>) =>
        fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body });
      assert.equal((await put({})).status, 401, 'no token');
      assert.equal((await put({ authorization: `Bearer ${opsToken}` })).status, 200);
    } finally {
      await fleet.stop();
    }
  });

  it('a laptop fleet runs open and says so at start-up', async () => {
    const fleet = await startTestFleet({}, ['inventory']);
    try {
      const warning = fleet.logs.entries().find((e) => e['level'] === 'warn' && /AUTH_MODE=off/.test(String(e['msg'])));
      assert.ok(warning, 'no start-up warning that authentication is off');
    } finally {
      await fleet.stop();
    }
  });
});
