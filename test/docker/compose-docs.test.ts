import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freshCheckout, portIsFree } from '../docs/checkout';
import { runDocBlocks } from '../docs/doc-runner';
import { REAL_IMAGES } from './compose-project';

const run = promisify(execFile);
const DOC = 'docs/deploy.md';
/** The host ports .env.example publishes, which the doc's commands use. */
const DOC_PORTS = [3000, 15672, 9090, 3001];

/**
 * docs/deploy.md's Docker Compose quick start as a new user runs it, in a fresh checkout: `cp .env.example .env`,
 * `up --build --wait`, a token from the development identity, stock, an order that ends CONFIRMED, the DLQ tool,
 * `down -v`. Only the environment differs from a user's shell: a project name and image tag of the test's own, and
 * (without a registry) COMPOSE_FILE adding the stand-in images, which compose reads as if named with -f.
 */
describe('docs/deploy.md: the Docker Compose quick start, run as written', function () {
  this.timeout(900_000);
  const project = `warren-docs-${randomBytes(3).toString('hex')}`;
  let checkout: string;

  before(async () => {
    for (const port of DOC_PORTS)
      assert.ok(await portIsFree(port), `port ${port} is taken: the compose quick start publishes it (.env.example)`);
    checkout = freshCheckout('warren-compose-docs');
  });

  after(async () => {
    const env = composeEnv(checkout);
    await run('docker', ['compose', 'down', '--volumes', '--remove-orphans', '--timeout', '20'], { cwd: checkout, env }).catch(
      () => undefined,
    );
    await run('docker', ['image', 'rm', `warren-test:${project}`]).catch(() => undefined);
    rmSync(checkout, { recursive: true, force: true });
  });

  function composeEnv(dir: string): NodeJS.ProcessEnv {
    const files = REAL_IMAGES
      ? ['docker-compose.yml']
      : ['docker-compose.yml', 'test/docker/compose.standins.yml', 'test/docker/compose.no-grafana.yml'];
    return {
      ...process.env,
      COMPOSE_PROJECT_NAME: project,
      COMPOSE_FILE: files.map((f) => path.join(dir, f)).join(':'),
      // The shell wins over .env: an image tag of the test's own, and the stand-in Node base without a registry.
      WARREN_IMAGE: `warren-test:${project}`,
      ...(REAL_IMAGES ? {} : { NODE_IMAGE: 'warren-standin/node:24' }),
      // The classic builder: BuildKit fetches its frontend from a registry.
      DOCKER_BUILDKIT: '0',
      COMPOSE_DOCKER_CLI_BUILD: '0',
    };
  }

  it('cp .env.example .env, up --wait, a token, stock, an order CONFIRMED, the DLQ tool, down -v', async () => {
    const env = composeEnv(checkout) as Record<string, string>;
    const started = Date.now();
    const phase = async (names: string[]) => {
      const t0 = Date.now();
      await runDocBlocks(DOC, names, { env, cwd: checkout, timeoutMs: 600_000 });
      console.log(`      ${names.join(', ')}: ${Math.round((Date.now() - t0) / 1000)} s`);
    };
    await phase(['compose-up']);
    await phase(['compose-try']);
    await phase(['compose-operate']);
    await phase(['compose-down']);
    const { stdout } = await run('docker', [
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--format',
      '{{.Names}}',
    ]);
    assert.equal(stdout.trim(), '', 'containers left after down -v');
    console.log(`      whole quick start: ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
