import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { REPO } from './tools';

const run = promisify(execFile);

/** The launcher `npm run fleet` and `npm test` go through, run from source so this suite needs no build. */
const LAUNCHER = path.join(REPO, 'workers/dev/with-local-services.ts');
/** What a started container's line must say: where nothing answered, what runs now, where, and that it will go. */
const LINE =
  /^\[warren\] nothing answered at 127\.0\.0\.1:(\d+): started (RabbitMQ|Redis) in container (warren-dev-(?:rabbitmq|redis)-[0-9a-f]+) \(([^)\s]+)\); it stops when this command ends$/;

/**
 * The wrapped command: connects to AMQP_URL and REDIS_URL, optionally runs the suites' rabbitmqctl
 * (WARREN_TEST_RABBITMQCTL), prints what it saw as one JSON line, then exits with the code it is given.
 */
const CHECK = `
const amqplib = require('amqplib');
const ioredis = require('ioredis');
const Redis = ioredis.default ?? ioredis;
const { execFileSync } = require('node:child_process');
(async () => {
  const seen = { AMQP_URL: process.env.AMQP_URL, REDIS_URL: process.env.REDIS_URL, WARREN_TEST_RABBITMQCTL: process.env.WARREN_TEST_RABBITMQCTL };
  if (process.argv.includes('amqp')) { const c = await amqplib.connect(process.env.AMQP_URL); await c.close(); seen.amqp = 'ok'; }
  if (process.argv.includes('redis')) {
    const r = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await r.connect(); seen.redis = await r.ping(); r.disconnect();
  }
  if (process.argv.includes('ctl')) {
    const [cmd, ...args] = process.env.WARREN_TEST_RABBITMQCTL.split(' ');
    seen.vhosts = execFileSync(cmd, [...args, '-q', 'list_vhosts', '--no-table-headers'], { encoding: 'utf8' }).trim().split('\\n');
  }
  console.log(JSON.stringify(seen));
  process.exit(Number(process.argv[1]));
})().catch((e) => { console.error('check failed: ' + e.message); process.exit(9); });
`;

/** Stays up until a signal, which it answers like a draining service: a line, then exit 0 a moment later. */
const LINGER = `
process.on('SIGINT', () => { console.log('drained after SIGINT'); setTimeout(() => process.exit(0), 200); });
process.on('SIGTERM', () => { console.log('drained after SIGTERM'); setTimeout(() => process.exit(0), 200); });
console.log('ready');
setInterval(() => {}, 1000);
`;

interface Launched {
  pid: number;
  stdout: () => string;
  done: Promise<{ code: number | null; stderr: string; stdout: string }>;
}

function launch(env: Record<string, string>, command: string[], options: { detached?: boolean } = {}): Launched {
  const child = spawn(process.execPath, ['--import', 'tsx', LAUNCHER, ...command], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stderr, stdout })),
  );
  return { pid: child.pid!, stdout: () => stdout, done };
}

/** The `[warren]` lines, checked against LINE: one per container started. */
function startedLines(stderr: string): { port: number; label: string; name: string; image: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('[warren]'))
    .map((l) => {
      const m = LINE.exec(l);
      assert.ok(m, `unexpected line: ${l}`);
      return { port: Number(m[1]), label: m[2]!, name: m[3]!, image: m[4]! };
    });
}

function lastJson(stdout: string): Record<string, any> {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Record<string, any>;
}

const tcpAnswers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** Every container of the launcher with this pid (its label), running or not, plus any of these names. */
async function containersOf(pid: number, names: string[] = []): Promise<string[]> {
  const filters = [['--filter', `label=warren.dev.owner-pid=${pid}`], ...names.map((n) => ['--filter', `name=^/${n}$`])];
  const found = await Promise.all(
    filters.map(async (f) => (await run('docker', ['ps', '-a', '--format', '{{.Names}}', ...f])).stdout.trim().split('\n').filter(Boolean)),
  );
  return [...new Set(found.flat())];
}

describe('deploy: npm run fleet / npm test on a machine with only Node and Docker (workers/dev/with-local-services.ts)', function () {
  // RabbitMQ boots in 10-20 s, longer on a loaded machine.
  this.timeout(240_000);

  /** The broker and Redis this run uses (the host's, or the containers `npm test` started): they answer. */
  const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
  const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const launchers: number[] = [];

  before(async function () {
    await run('docker', ['version']).catch(() => {
      throw new Error('this suite needs a Docker engine (`docker version` fails)');
    });
  });

  after(async () => {
    // Only if an assertion failed midway: never leave a container of this suite behind.
    const left = (await Promise.all(launchers.map((pid) => containersOf(pid)))).flat();
    if (left.length > 0) await run('docker', ['rm', '-f', ...left]).catch(() => undefined);
  });

  it('starts RabbitMQ and Redis where nothing answers, hands the command working URLs, then removes both', async () => {
    const [amqpPort, redisPort] = [await freePort(), await freePort()];
    const env = { AMQP_URL: `amqp://guest:guest@127.0.0.1:${amqpPort}`, REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    const launched = launch(env, ['node', '-e', CHECK, '0', 'amqp', 'redis', 'ctl']);
    launchers.push(launched.pid);
    const { code, stderr, stdout } = await launched.done;
    assert.equal(code, 0, `launcher exited ${code}\n${stderr}`);

    const lines = startedLines(stderr);
    assert.deepEqual(lines.map((l) => `${l.label}@${l.port}`).sort(), [`RabbitMQ@${amqpPort}`, `Redis@${redisPort}`]);
    const seen = lastJson(stdout);
    assert.equal(seen['AMQP_URL'], env.AMQP_URL);
    assert.equal(seen['REDIS_URL'], env.REDIS_URL);
    assert.equal(seen['amqp'], 'ok');
    assert.equal(seen['redis'], 'PONG');
    const broker = lines.find((l) => l.label === 'RabbitMQ')!;
    assert.equal(seen['WARREN_TEST_RABBITMQCTL'], `docker exec ${broker.name} rabbitmqctl`);
    assert.ok((seen['vhosts'] as string[]).includes('/'), `rabbitmqctl in the container answered ${JSON.stringify(seen['vhosts'])}`);

    assert.deepEqual(
      await containersOf(
        launched.pid,
        lines.map((l) => l.name),
      ),
      [],
      'containers left behind',
    );
    assert.equal(await tcpAnswers(amqpPort), false, `something still answers at ${amqpPort}`);
    assert.equal(await tcpAnswers(redisPort), false, `something still answers at ${redisPort}`);
  });

  it('removes its container when the command fails, and passes the failure on; an answering broker is left alone', async () => {
    const redisPort = await freePort();
    const launched = launch({ AMQP_URL, REDIS_URL: `redis://127.0.0.1:${redisPort}` }, ['node', '-e', CHECK, '3', 'redis']);
    launchers.push(launched.pid);
    const { code, stderr, stdout } = await launched.done;
    assert.equal(code, 3, stderr);
    const lines = startedLines(stderr);
    assert.deepEqual(
      lines.map((l) => `${l.label}@${l.port}`),
      [`Redis@${redisPort}`],
    );
    assert.equal(lastJson(stdout)['redis'], 'PONG');
    assert.deepEqual(await containersOf(launched.pid, [lines[0]!.name]), []);
  });

  it('on Ctrl-C (SIGINT to the whole process group) lets the command finish, then removes its container', async () => {
    const redisPort = await freePort();
    const launched = launch({ AMQP_URL, REDIS_URL: `redis://127.0.0.1:${redisPort}` }, ['node', '-e', LINGER], { detached: true });
    launchers.push(launched.pid);
    await waitFor('the command running', () => launched.stdout().includes('ready'), 60_000, 100);
    process.kill(-launched.pid, 'SIGINT');
    const { code, stderr, stdout } = await launched.done;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /drained after SIGINT/);
    const lines = startedLines(stderr);
    assert.equal(lines.length, 1);
    assert.deepEqual(await containersOf(launched.pid, [lines[0]!.name]), []);
  });

  it('on SIGTERM to the launcher alone passes it to the command, then removes its container', async () => {
    const redisPort = await freePort();
    const launched = launch({ AMQP_URL, REDIS_URL: `redis://127.0.0.1:${redisPort}` }, ['node', '-e', LINGER]);
    launchers.push(launched.pid);
    await waitFor('the command running', () => launched.stdout().includes('ready'), 60_000, 100);
    process.kill(launched.pid, 'SIGTERM');
    const { code, stderr, stdout } = await launched.done;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /drained after SIGTERM/);
    const lines = startedLines(stderr);
    assert.equal(lines.length, 1);
    assert.deepEqual(await containersOf(launched.pid, [lines[0]!.name]), []);
  });

  it('starts nothing when the broker and Redis answer, and leaves a URL that points elsewhere alone', async () => {
    const answering = launch({ AMQP_URL, REDIS_URL }, ['node', '-e', CHECK, '0', 'amqp', 'redis']);
    const elsewhere = launch({ AMQP_URL: 'amqp://guest:guest@warren-nowhere.invalid:5672', REDIS_URL }, ['node', '-e', CHECK, '0']);
    launchers.push(answering.pid, elsewhere.pid);
    const [a, e] = await Promise.all([answering.done, elsewhere.done]);

    assert.equal(a.code, 0, a.stderr);
    assert.doesNotMatch(a.stderr, /\[warren\]/);
    const seen = lastJson(a.stdout);
    assert.deepEqual([seen['AMQP_URL'], seen['REDIS_URL'], seen['amqp'], seen['redis']], [AMQP_URL, REDIS_URL, 'ok', 'PONG']);
    assert.equal(
      seen['WARREN_TEST_RABBITMQCTL'],
      process.env['WARREN_TEST_RABBITMQCTL'],
      'rabbitmqctl changed for a broker it did not start',
    );

    assert.equal(e.code, 0, e.stderr);
    assert.doesNotMatch(e.stderr, /\[warren\]/);
    assert.equal(lastJson(e.stdout)['AMQP_URL'], 'amqp://guest:guest@warren-nowhere.invalid:5672');

    assert.deepEqual(await containersOf(answering.pid), []);
    assert.deepEqual(await containersOf(elsewhere.pid), []);
  });
});
