import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTokenVerifier } from '../../shared/auth/token-verifier';
import { runTokenCli } from '../../workers/token';

const SECRET = 'a-development-secret-of-32-characters';
const OPS = 'an-ops-token-of-at-least-32-characters';

/** Runs `npm run token -- <argv>` in `cwd` with `env`; returns its exit code and what it printed. */
async function token(argv: string[], env: Record<string, string>, cwd = tmpdir()) {
  let out = '';
  let err = '';
  const code = await runTokenCli(argv, { env, out: (s) => (out += s), err: (s) => (err += s) }, cwd);
  return { code, out: out.trim(), err };
}

describe('npm run token: the development identity', () => {
  it('prints a token the order API accepts for that customer', async () => {
    const env = { AUTH_MODE: 'hs256', AUTH_JWT_SECRET: SECRET, AUTH_AUDIENCE: 'warren-orders', OPS_TOKEN: OPS };
    const { code, out } = await token(['c-1'], env);
    assert.equal(code, 0);
    const verify = await createTokenVerifier({ mode: 'hs256', secret: SECRET, audience: 'warren-orders', opsToken: OPS });
    assert.deepEqual(await verify(out), { customerId: 'c-1' });
  });

  it("reads compose's .env when the environment does not say", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warren-token-'));
    try {
      writeFileSync(path.join(dir, '.env'), `AUTH_MODE=hs256\nAUTH_JWT_SECRET=${SECRET}\nOPS_TOKEN=${OPS}\n`);
      const { code, out } = await token(['c-2'], {}, dir);
      assert.equal(code, 0);
      const verify = await createTokenVerifier({ mode: 'hs256', secret: SECRET, opsToken: OPS });
      assert.deepEqual(await verify(out), { customerId: 'c-2' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses in production, where hs256 is refused too', async () => {
    const { code, out, err } = await token(['c-1'], {
      NODE_ENV: 'production',
      AUTH_MODE: 'hs256',
      AUTH_JWT_SECRET: SECRET,
      OPS_TOKEN: OPS,
    });
    assert.equal(code, 78);
    assert.equal(out, '');
    assert.match(err, /NODE_ENV=production/);
  });

  it('says what it needs where the fleet runs another mode', async () => {
    const { code, err } = await token(['c-1'], { AUTH_MODE: 'off' });
    assert.equal(code, 78);
    assert.match(err, /needs AUTH_MODE=hs256 and AUTH_JWT_SECRET .*AUTH_MODE is off/);
  });

  it('refuses a customer id the API would refuse, and bad flags', async () => {
    for (const argv of [[], ['c 1'], ['c-1', '--expires', '-5'], ['c-1', '--bogus']]) {
      const { code, err } = await token(argv, { AUTH_MODE: 'hs256', AUTH_JWT_SECRET: SECRET, OPS_TOKEN: OPS });
      assert.equal(code, 64, argv.join(' '));
      assert.match(err, /^usage: npm run token/);
    }
  });

  it('runs as its own entry point, as the compose docs call it (no import cycle leaves a module half-loaded)', () => {
    const env = { PATH: process.env['PATH'] ?? '', AUTH_MODE: 'hs256', AUTH_JWT_SECRET: SECRET, OPS_TOKEN: OPS };
    const run = spawnSync(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), path.join(__dirname, '../../workers/token.ts'), 'c-1'],
      {
        env,
        encoding: 'utf8',
        cwd: tmpdir(),
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });
});
