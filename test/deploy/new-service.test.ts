import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { configVariables, ConfigError, loadConfig } from '../../shared/config/config';
import { CHART_DIR, renderAll } from '../../deploy/generate/artifacts';
import { SERVICE_DECLARATIONS } from '../../workers/registry';
import { fleetPorts, startOrder } from '../helpers/fleet-ports';
import { fixture } from './fixtures/fixture-service';
import { validateManifest } from './k8s-schemas';
import { mountedCredentials } from './pod-credentials';
import { byKind, helm, MINIMAL_VALUES, OPERATOR_CRDS, parseManifests, REPO, type Manifest } from './tools';

const run = promisify(execFile);
/** The registry with a fixture service added, and nothing else edited. */
const FLEET = [...SERVICE_DECLARATIONS, fixture];

interface Generated {
  path: string;
  wanted: string;
}

/**
 * The proof that a service is one declaration: with `fixture-courier` added to the list, every derived artifact carries
 * it (broker users and permissions, config, test fleets, the chart, scrape targets, the healthcheck, EXPOSE).
 */
describe('deploy: a fourth service is one declaration', function () {
  this.timeout(60_000);
  let root: string;
  const generated: Record<string, string> = {};
  const file = (suffix: string): string => generated[Object.keys(generated).find((p) => p.endsWith(suffix))!]!;

  before(() => {
    // A scratch copy of the chart with the files generated for the bigger fleet.
    root = mkdtempSync(path.join(tmpdir(), 'warren-fixture-courier-'));
    cpSync(path.join(REPO, CHART_DIR), path.join(root, CHART_DIR), { recursive: true });
    for (const { path: relative, wanted } of renderAll(FLEET) as Generated[]) {
      mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
      writeFileSync(path.join(root, relative), wanted);
      generated[relative] = wanted;
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('broker: a user with its own password variable, its own queue only, publishing only what it declares, configuring nothing', () => {
    const definitions = JSON.parse(file('definitions.template.json'));
    assert.deepEqual(
      definitions.users.find((u: { name: string }) => u.name === 'warren-fixture-courier'),
      { name: 'warren-fixture-courier', password_env: 'RABBITMQ_FIXTURE_COURIER_PASSWORD', tags: [] },
    );
    const permission = definitions.permissions.find((p: { user: string }) => p.user === 'warren-fixture-courier');
    // The topology is the operator's: configure nothing, write its events and its own failures exchange, read its queue.
    assert.equal(permission.configure, '^$');
    const [write, read] = [new RegExp(permission.write), new RegExp(permission.read)];
    for (const name of ['warren.events', 'warren.fixture-courier.failures']) assert.match(name, write);
    for (const name of ['warren.fixture-courier', 'warren.fixture-courier.dlq', 'warren.order.failures', 'amq.default', ''])
      assert.doesNotMatch(name, write);
    assert.match('warren.fixture-courier', read);
    // Its tiers and DLQ too: RabbitMQ 4 refuses a passive declare of a queue the user may neither read nor configure.
    for (const name of ['warren.fixture-courier.dlq', 'warren.fixture-courier.retry.1000']) assert.match(name, read);
    for (const name of ['warren.events', 'warren.order', 'warren.order.dlq', 'warren.fixture-courierx', 'warren.fixture-courier.failures'])
      assert.doesNotMatch(name, read);
    const topic = definitions.topic_permissions.find((p: { user: string }) => p.user === 'warren-fixture-courier');
    assert.equal(topic.exchange, 'warren.events');
    assert.match('fixture-courier.booked', new RegExp(topic.write));
    for (const key of ['order.confirmed', 'fixture-courier.cancelled', 'fixture-courierXbooked'])
      assert.doesNotMatch(key, new RegExp(topic.write));
    assert.equal(topic.read, '^$', 'it binds nothing: the operator binds its queue');
  });

  it('config: FIXTURE_COURIER_OPS_PORT is read, defaults to the declaration and is validated', () => {
    assert.ok(configVariables(FLEET).includes('FIXTURE_COURIER_OPS_PORT'));
    assert.equal(loadConfig({}, FLEET).opsPorts['fixture-courier'], 9199);
    assert.equal(loadConfig({ FIXTURE_COURIER_OPS_PORT: '9200' }, FLEET).opsPorts['fixture-courier'], 9200);
    assert.throws(
      () => loadConfig({ FIXTURE_COURIER_OPS_PORT: '70000' }, FLEET),
      (e: unknown) => e instanceof ConfigError && /FIXTURE_COURIER_OPS_PORT/.test(e.message),
    );
  });

  it('test fleets: a free ops port for it, started before the service with the API', async () => {
    const ports = await fleetPorts(FLEET);
    assert.match(ports.env['FIXTURE_COURIER_OPS_PORT'] ?? '', /^\d+$/);
    assert.equal(ports.ops['fixture-courier'], `http://127.0.0.1:${ports.env['FIXTURE_COURIER_OPS_PORT']}`);
    const order = startOrder(
      FLEET.map((s) => s.name),
      FLEET,
    );
    assert.ok(order.includes('fixture-courier'));
    assert.equal(order.at(-1), 'order');
  });

  it('chart: Deployment, ops Service, PDB, autoscaler, credentials and broker user, valid against the schemas', async () => {
    const chart = path.join(root, CHART_DIR);
    const manifests = parseManifests(
      await helm(
        'template',
        'warren',
        chart,
        '--namespace',
        'shop',
        ...OPERATOR_CRDS.flatMap((crd) => ['--api-versions', crd]),
        '-f',
        path.join(chart, 'ci/all-features-keda-values.yaml'),
        '--set',
        'rabbitmqCluster.passwords.fixture-courier=not-a-real-password-s',
      ),
    );
    const mine = (kind: string) =>
      byKind(manifests, kind).filter((m) => m.metadata.labels?.['app.kubernetes.io/component'] === 'fixture-courier');
    const [deployment] = mine('Deployment') as [Manifest];
    const container = deployment.spec.template.spec.containers[0];
    assert.deepEqual(container.command, ['node', 'dist/workers/run.js', 'fixture-courier']);
    assert.deepEqual(
      container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
      [['ops', 9199]],
    );
    const credentials = mountedCredentials(deployment.spec.template.spec, container);
    assert.equal(credentials.find((c) => c.variable === 'AMQP_URL')?.key, 'fixture-courier-amqp-url');
    assert.deepEqual(
      mine('Service').map((s) => s.metadata.name),
      ['warren-fixture-courier-ops'],
    );
    assert.equal(mine('PodDisruptionBudget').length, 1);
    assert.equal(mine('ScaledObject')[0]?.spec.triggers[0].metadata.queueName, 'warren.fixture-courier');
    const secrets = byKind(manifests, 'Secret');
    assert.match(
      secrets.find((s) => s.metadata.name.endsWith('-credentials'))?.stringData?.['fixture-courier-amqp-url'] ?? '',
      /^amqp:\/\/warren-fixture-courier:not-a-real-password-s@/,
    );
    const definitions = JSON.parse(
      secrets.find((s) => s.metadata.name.endsWith('-rabbitmq-definitions'))?.stringData?.['definitions.json'] ?? '{}',
    );
    assert.equal(definitions.users.find((u: { name: string }) => u.name === 'warren-fixture-courier')?.password, 'not-a-real-password-s');
    assert.equal(
      byKind(manifests, 'ConfigMap').find((m) => m.metadata.name.endsWith('-config'))?.data?.['FIXTURE_COURIER_OPS_PORT'],
      '9199',
    );
    for (const m of [deployment, ...mine('Service'), ...mine('PodDisruptionBudget'), ...mine('ScaledObject')]) await validateManifest(m);
  });

  it('chart: the schema takes its values and refuses bad ones, and its password is required with a chart-made broker', async () => {
    const chart = path.join(root, CHART_DIR);
    const rendered = parseManifests(
      await helm(
        'template',
        'warren',
        chart,
        '-f',
        path.join(chart, MINIMAL_VALUES),
        '--set',
        'services.fixture-courier.replicas=3',
        '--set',
        'config.FIXTURE_COURIER_OPS_PORT=9300',
      ),
    );
    const deployment = byKind(rendered, 'Deployment').find((d) => d.metadata.name === 'warren-fixture-courier');
    assert.equal(deployment?.spec.replicas, 3);
    assert.equal(deployment?.spec.template.spec.containers[0].ports[0].containerPort, 9300);
    await assert.rejects(helm('template', 'warren', chart, '--set', 'services.fixture-courier.replicas=-1'), /fixture-courier/);
    await assert.rejects(helm('template', 'warren', chart, '--set', 'config.FIXTURE_COURIER_OPS_PORT=70000'), /FIXTURE_COURIER_OPS_PORT/);
    // The generated CI values give it a password; the repo's, written for three services, do not.
    await assert.rejects(
      helm('template', 'warren', chart, '--set', 'checkCrds=false', '-f', path.join(REPO, CHART_DIR, 'ci/all-features-keda-values.yaml')),
      /rabbitmqCluster\.passwords\.fixture-courier/,
    );
  });

  it('compose: its block in all three compose files, its passwords in the one-shots, .env.example and the CI values', () => {
    type Compose = { services: Record<string, { command?: string[]; environment: Record<string, string> }> };
    const single = parseYaml(file('docker-compose.yml'), { merge: true }) as Compose;
    const mine = single.services['fixture-courier']!;
    assert.deepEqual(mine.command, ['node', 'dist/workers/run.js', 'fixture-courier']);
    assert.match(
      mine.environment['AMQP_URL']!,
      /^amqp:\/\/warren-fixture-courier:\$\{RABBITMQ_FIXTURE_COURIER_PASSWORD:-dev-only-fixture-courier\}@rabbitmq:5672\/warren$/,
    );
    assert.match(mine.environment['REDIS_URL']!, /^redis:\/\/warren-fixture-courier:\$\{REDIS_FIXTURE_COURIER_PASSWORD:-/);
    assert.equal(mine.environment['PAYMENT_TOKEN_KEYS'], undefined, 'no secret it does not declare');
    assert.ok('OPS_TOKEN' in mine.environment, 'the ops token, which every ops port needs, undeclared');
    assert.ok(single.services['rabbitmq-definitions']!.environment['RABBITMQ_FIXTURE_COURIER_PASSWORD']);
    assert.ok(single.services['redis-acl']!.environment['REDIS_FIXTURE_COURIER_PASSWORD']);
    const cluster = parseYaml(file('docker-compose.cluster.yml'), { merge: true }) as Compose;
    assert.equal(cluster.services['fixture-courier']!.environment['AMQP_URL']!.split(',').length, 3, 'every node');
    const tls = parseYaml(file('docker-compose.tls.yml'), { merge: true }) as Compose;
    assert.match(tls.services['fixture-courier']!.environment['AMQP_URL']!, /^amqps:/);
    assert.match(file('.env.example'), /^RABBITMQ_FIXTURE_COURIER_PASSWORD=change-me-fixture-courier$/m);
    assert.match(file('.env.example'), /^REDIS_FIXTURE_COURIER_PASSWORD=change-me-redis-fixture-courier$/m);
    const keda = parseYaml(file('ci/all-features-keda-values.yaml')) as { rabbitmqCluster: { passwords: Record<string, string> } };
    assert.ok(keda.rabbitmqCluster.passwords['fixture-courier']);
    const hpa = parseYaml(file('ci/all-features-hpa-values.yaml')) as { secrets: Record<string, Record<string, string>> };
    assert.match(hpa.secrets['amqpUrls']!['fixture-courier']!, /^amqp:\/\/warren-fixture-courier:/);
    assert.match(hpa.secrets['redisUrls']!['fixture-courier']!, /^rediss:\/\/warren-fixture-courier:/);
  });

  it('Prometheus: a scrape target at its declared ops port', () => {
    const config = parseYaml(file('prometheus.yml')) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const warren = config.scrape_configs.find((c) => c.job_name === 'warren');
    assert.deepEqual(warren?.dns_sd_configs?.find((d) => d.names.includes('fixture-courier'))?.port, 9199);
  });

  it('image: EXPOSEs its ops port, and the healthcheck probes it by its variable', async () => {
    assert.match(file('Dockerfile'), /^EXPOSE .*\b9199\b/m);
    let server: Server | undefined;
    try {
      server = createServer((_, res) => res.end());
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      // Outside a container the script probes every service: all ports but fixture-courier's lead nowhere.
      const env = {
        PATH: process.env['PATH'] ?? '',
        ...Object.fromEntries(SERVICE_DECLARATIONS.map((s) => [s.ops.env, '1'])),
        FIXTURE_COURIER_OPS_PORT: String(port),
      };
      await run(process.execPath, [path.join(root, 'deploy/scripts/container-healthcheck.mjs'), '/healthz'], { env });
      await assert.rejects(
        run(process.execPath, [path.join(root, 'deploy/scripts/container-healthcheck.mjs'), '/healthz'], {
          env: { ...env, FIXTURE_COURIER_OPS_PORT: '1' },
        }),
      );
    } finally {
      server?.close();
    }
  });
});
