import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from '../helpers/broker';
import { deleteKeys } from '../helpers/fleet';
import { waitFor } from '../helpers/wait';
import { freshCheckout, portIsFree } from './checkout';
import { docBlock, REPO, runDocBlocks } from './doc-runner';
import { SERVICE_NAMES } from '../../workers/registry';

/** The ports the README's commands name: the services' defaults, which the fleet it starts listens on. */
const README_PORTS = [3000, 9101, 9102, 9103];

/**
 * The README as a new user meets it: its set-up command for the fleet, run as written in a fresh checkout (own vhost
 * and Redis prefix, through the environment the configuration table documents), then every command of "Using it",
 * exactly as written, each one's printed output checked against what the README shows.
 */
describe('README: the set-up and "Using it" commands, run as written', function () {
  this.timeout(600_000);
  let checkout: string;
  let vhost: string;
  let prefix: string;
  let fleet: ChildProcess | undefined;
  let fleetLog = '';

  before(async () => {
    for (const port of README_PORTS)
      assert.ok(await portIsFree(port), `port ${port} is taken: the README's commands need it (stop what holds it)`);
    checkout = freshCheckout('warren-readme');
    ({ vhost } = await createVhost('warren-readme'));
    prefix = `${uniqueName('readme')}:`;
  });

  after(async () => {
    try {
      if (fleet) process.kill(-fleet.pid!, 'SIGKILL');
    } catch {
      // the whole group has exited already
    }
    await deleteVhost(vhost);
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, prefix);
    redis.disconnect();
    rmSync(checkout, { recursive: true, force: true });
  });

  it("CI runs the README's test command as written (.ci/run)", () => {
    const setup = docBlock('README.md', 'readme-setup').code.split('\n');
    const testLine = setup
      .find((l) => l.includes('npm test'))!
      .split('#')[0]!
      .trim();
    assert.equal(testLine, 'npm ci && npm test');
    const ci = readFileSync(path.join(REPO, '.ci/run'), 'utf8');
    assert.match(ci, /^npm ci\b/m, '.ci/run must install as the README says');
    assert.match(ci, /^npm test$/m, ".ci/run must run the README's test command");
  });

  it('the fleet command starts every service in a fresh checkout', async () => {
    const line = docBlock('README.md', 'readme-setup')
      .code.split('\n')
      .find((l) => l.includes('npm run fleet'))!
      .split('#')[0]!
      .trim();
    assert.equal(line, 'npm ci && npm run fleet');
    const url = new URL(process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672');
    url.pathname = `/${encodeURIComponent(vhost)}`;
    const started = Date.now();
    fleet = spawn('bash', ['-c', line], {
      cwd: checkout,
      detached: true,
      env: { ...process.env, AMQP_URL: url.toString(), REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' },
    });
    fleet.stdout!.on('data', (c: Buffer) => (fleetLog += c.toString()));
    fleet.stderr!.on('data', (c: Buffer) => (fleetLog += c.toString()));
    // A fleet that exits (a port taken, a bad setting) fails the wait at once rather than after its deadline.
    const exited = new Promise<never>((_, reject) =>
      fleet!.once('exit', (code) => reject(new Error(`the fleet exited ${code}:\n${fleetLog.slice(-3000)}`))),
    );
    const ready = waitFor(
      'the fleet to be ready',
      async () => {
        const ready = await Promise.all(
          README_PORTS.slice(1).map((p) =>
            fetch(`http://127.0.0.1:${p}/readyz`).then(
              (r) => r.status === 200,
              () => false,
            ),
          ),
        );
        return ready.every(Boolean) || undefined;
      },
      300_000,
      1000,
    );
    await Promise.race([ready, exited]);
    exited.catch(() => undefined); // its later exit (Ctrl-C, below) is no failure of this step
    console.log(`      npm ci && npm run fleet: ready ${Math.round((Date.now() - started) / 1000)} s after the command`);
  });

  it('"Using it": every command runs and prints what the README shows', async () => {
    assert.ok(fleet?.exitCode === null, 'the fleet is not running');
    await runDocBlocks('README.md', ['readme-use'], { env: {}, cwd: checkout, timeoutMs: 60_000 });
  });

  it('Ctrl-C drains and stops the fleet', async () => {
    assert.ok(fleet?.exitCode === null, 'the fleet is not running');
    // 'close', not 'exit': the output pipes close only once every process of the fleet has exited (npm and bash may
    // go first), and the services' last lines are read by then.
    const exited = new Promise<string>((resolve) => fleet!.once('close', (code, signal) => resolve(signal ?? String(code))));
    process.kill(-fleet!.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    assert.notEqual(code, 'timeout', 'the fleet still runs 60 s after Ctrl-C');
    // npm, and the shell running it, end as Ctrl-C ends a terminal command (0, 130 or the signal itself): what
    // matters is that each service drained before the group was gone.
    assert.ok(['0', '130', 'SIGINT'].includes(code), `ended ${code}: ${fleetLog.slice(-2000)}`);
    // Each service finished its drain: Ctrl-C reaches the services and the fleet, which passes it on as SIGTERM.
    assert.equal(fleetLog.match(/"msg":"stopped"/g)?.length, SERVICE_NAMES.length, fleetLog.slice(-3000));
  });
});
