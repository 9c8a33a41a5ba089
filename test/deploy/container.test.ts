import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './tools';

const run = promisify(execFile);

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(): { op: string; args: string }[] {
  const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of the last stage: what the runtime image is made of. */
function runtimeStage(): { op: string; args: string }[] {
  const all = instructions();
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  return all.slice(lastFrom);
}

describe('deploy: container image (Dockerfile, no Docker engine needed)', () => {
  it('is multi-stage and installs only production dependencies into the runtime', () => {
    const all = instructions();
    assert.ok(all.filter((i) => i.op === 'FROM').length >= 2, 'not multi-stage');
    assert.ok(
      all.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args)),
      'no npm ci --omit=dev',
    );
    const runtime = runtimeStage();
    assert.ok(
      !runtime.some((i) => i.op === 'RUN' && /npm (ci|install)(?!.*--omit=dev)/.test(i.args)),
      'runtime stage installs dev dependencies',
    );
    assert.ok(!runtime.some((i) => i.op === 'COPY' && /^\.\s/.test(i.args)), 'runtime stage copies the whole source tree');
  });

  it('runs as a non-root user, with node as PID 1 in exec form (SIGTERM reaches it)', () => {
    const runtime = runtimeStage();
    const user = runtime.filter((i) => i.op === 'USER').pop();
    assert.ok(user && !/^(root|0)(:|$)/.test(user.args), `runtime user is ${user?.args ?? 'root (no USER)'}`);
    const cmd = runtime.filter((i) => i.op === 'CMD').pop();
    assert.deepEqual(JSON.parse(cmd?.args ?? 'null'), ['node', 'dist/workers/run.js', 'order']);
    assert.ok(!runtime.some((i) => i.op === 'ENTRYPOINT'), 'an ENTRYPOINT would wrap the command');
    const healthcheck = runtime.find((i) => i.op === 'HEALTHCHECK');
    assert.match(healthcheck?.args ?? '', /CMD \["node", "healthcheck\.mjs", "\/healthz"\]/);
  });

  it('keeps the build context to what the image needs (.dockerignore allow-list)', () => {
    const ignore = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    assert.equal(
      ignore.find((l) => l && !l.startsWith('#')),
      '*',
      'the allow-list must start by ignoring everything',
    );
    for (const needed of ['!package.json', '!package-lock.json', '!shared/', '!workers/', '!deploy/scripts/container-healthcheck.mjs'])
      assert.ok(ignore.includes(needed), needed);
    assert.ok(ignore.includes('**/.env'), '.env files must never reach the image');
  });

  describe('healthcheck.mjs (the HEALTHCHECK and compose probe)', () => {
    let server: Server;
    let status = 200;
    let port = 0;
    const probe = (urlPath: string) =>
      run(process.execPath, [path.join(REPO, 'deploy/scripts/container-healthcheck.mjs'), urlPath], {
        // Outside a container PID 1 is not a Warren service, so the script probes every service's ops port.
        env: { PATH: process.env['PATH'] ?? '', ORDER_OPS_PORT: String(port), INVENTORY_OPS_PORT: '1', PAYMENT_OPS_PORT: '1' },
      });

    before(async () => {
      server = createServer((req, res) => {
        res.statusCode = req.url === '/readyz' || req.url === '/healthz' ? status : 404;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('exits 0 when the ops endpoint answers 200', async () => {
      status = 200;
      await probe('/healthz');
      await probe('/readyz');
    });

    it('exits 1 when it answers 503 or 404, or nothing listens', async () => {
      status = 503;
      await assert.rejects(probe('/readyz'), (error: { code?: number }) => error.code === 1);
      await assert.rejects(probe('/nowhere'), (error: { code?: number }) => error.code === 1);
    });
  });
});
