import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './tools';

const run = promisify(execFile);

/** The service this test adds: a folder under test/new-service/, whose name no real service takes. */
const NAME = 'parcel-fixture';
const TEMPLATE = path.join(REPO, 'test/new-service', NAME);

/** README's "Adding a service", step 2: the declaration's import and its entry in SERVICE_DECLARATIONS. */
export function addToRegistry(registry: string): string {
  const imports = [...registry.matchAll(/^import .*;$/gm)];
  const last = imports.at(-1)!;
  const at = last.index + last[0].length;
  const withImport = `${registry.slice(0, at)}\nimport { parcelFixture } from './${NAME}/service';${registry.slice(at)}`;
  const list = /export const SERVICE_DECLARATIONS = \[([^\]]*)\]/;
  assert.match(withImport, list, 'workers/registry.ts lists its services in SERVICE_DECLARATIONS = [...]');
  return withImport.replace(list, (_, names: string) => `export const SERVICE_DECLARATIONS = [${names}, parcelFixture]`);
}

/** Files git tracks, as they are in the working tree (a file deleted there is skipped). */
async function trackedFiles(): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '-z'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  // Not node_modules, linked into the copy (a tree that is itself such a copy tracks the link).
  return stdout.split('\0').filter((f) => f !== '' && f !== 'node_modules' && existsSync(path.join(REPO, f)));
}

/**
 * README's "Adding a service", performed word for word on a copy of the tree: one folder and one registry line,
 * then the generators. Nothing else is edited, and the type check, lint and the broker-free tests must pass, with
 * the new service in every file derived from the registry.
 */
describe('deploy: adding a service is one folder and one registry line (README, "Adding a service")', function () {
  this.timeout(900_000);
  let root: string;
  /** Runs a command in the copy; a failure shows what the command printed. */
  const inCopy = async (command: string, args: string[]): Promise<string> => {
    try {
      return (await run(command, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`${command} ${args.join(' ')} failed in the copy:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`, { cause: error });
    }
  };
  const npm = (...args: string[]) => inCopy('npm', ['run', '-s', ...args]);

  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'warren-add-a-service-'));
    for (const file of await trackedFiles()) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      cpSync(path.join(REPO, file), path.join(root, file));
    }
    symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    await run('git', ['init', '-q'], { cwd: root });
    await run('git', ['add', '-A'], { cwd: root });
    await run('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'before'], { cwd: root });

    // Step 1: the folder. Step 2: the registry line. Step 3: the generators.
    cpSync(TEMPLATE, path.join(root, 'workers', NAME), { recursive: true });
    const registry = path.join(root, 'workers/registry.ts');
    writeFileSync(registry, addToRegistry(readFileSync(registry, 'utf8')));
    await npm('deploy:generate');
    await npm('contracts');
  });
  after(() => {
    if (!process.env['KEEP_COPY']) rmSync(root, { recursive: true, force: true });
  });

  it('writes the new service into every derived file, and nothing is edited by hand but the folder and the registry', async () => {
    const { stdout } = await run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root });
    const changed = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    const byHand = changed.filter((f) => f === 'workers/registry.ts' || f.startsWith(`workers/${NAME}/`));
    console.log(`      [add-a-service] ${byHand.length} files by hand, ${changed.length - byHand.length} generated`);
    assert.deepEqual(
      new Set(changed.filter((f) => !byHand.includes(f))),
      new Set([
        '.env.example',
        'Dockerfile',
        'docker-compose.yml',
        'deploy/cluster/docker-compose.cluster.yml',
        'deploy/tls/docker-compose.tls.yml',
        'deploy/prometheus/prometheus.yml',
        'deploy/scripts/container-healthcheck.mjs',
        'deploy/helm/warren/files/rabbitmq/definitions.template.json',
        'deploy/helm/warren/files/redis/acl.template.json',
        'deploy/helm/warren/files/services.json',
        'deploy/helm/warren/values.schema.json',
        'deploy/helm/warren/ci/all-features-hpa-values.yaml',
        'deploy/helm/warren/ci/all-features-keda-values.yaml',
        'deploy/helm/warren/ci/rabbitmq-password-hashes-values.yaml',
        'docs/asyncapi.yaml',
        'docs/openapi-ops.json',
      ]),
    );
    const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    assert.match(compose, new RegExp(`^  ${NAME}:$`, 'm'));
    assert.match(readFileSync(path.join(root, 'docs/asyncapi.yaml'), 'utf8'), /parcel-fixture\.booked/);
  });

  it('type-checks, lints and passes the broker-free tests with it', async () => {
    await npm('typecheck');
    await npm('lint');
    await npm('test:unit');
    await run('npx', ['mocha', 'test/deploy/generated-files.test.ts', 'test/deploy/new-service.test.ts'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
  });

  it('loads and describes it like the others: its events registered, its code found by name', async () => {
    const probe = [
      "const r = require('./workers/registry');",
      "const s = require('./workers/services');",
      `const svc = s.loadService('${NAME}');`,
      'process.stdout.write(JSON.stringify({ events: r.FLEET_EVENT_TYPES, wire: typeof svc.wire, names: r.SERVICE_NAMES }));',
    ].join('\n');
    const seen = JSON.parse(await inCopy('npx', ['tsx', '-e', probe])) as { events: string[]; wire: string; names: string[] };
    assert.ok(seen.events.includes('ParcelBooked'));
    assert.equal(seen.wire, 'function');
    assert.equal(seen.names.at(-1), NAME);
  });
});
