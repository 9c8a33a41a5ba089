import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES } from '../../shared/config/config';
import { secretsOf, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { SERVICE_DECLARATIONS } from '../../workers/registry';
import { dockerComposeCommand, REPO } from './tools';

const run = promisify(execFile);

/** deploy/cluster/docker-compose.cluster.yml as compose reads it with the dev-only defaults (no .env). */
async function clusterConfig(): Promise<any> {
  const [binary = 'docker', ...sub] = dockerComposeCommand();
  const { stdout } = await run(binary, [...sub, '-f', path.join(REPO, 'deploy/cluster/docker-compose.cluster.yml'), 'config'], {
    cwd: REPO,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' },
    timeout: 60_000,
  });
  return parseAllDocuments(stdout)[0]?.toJS();
}

describe('deploy: the cluster compose file', function () {
  this.timeout(60_000);
  let config: any;

  before(async () => {
    config = await clusterConfig();
  });

  it('runs three RabbitMQ nodes on the same definitions, Redis with two replicas and three sentinels', () => {
    const nodes = ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'];
    for (const node of nodes) {
      const service = config.services[node];
      assert.equal(service.hostname, node, `${node}: the node name rabbit@${node} needs a fixed hostname`);
      const targets = (service.volumes as { target: string }[]).map((v) => v.target).sort();
      assert.deepEqual(targets, [
        '/etc/rabbitmq/conf.d/20-warren.conf',
        '/etc/rabbitmq/conf.d/30-cluster.conf',
        '/etc/rabbitmq/definitions',
        '/etc/rabbitmq/enabled_plugins',
        '/var/lib/rabbitmq',
      ]);
      assert.equal(service.environment.ERLANG_COOKIE, 'dev-only-erlang-cookie');
    }
    for (const replica of ['redis-2', 'redis-3'])
      assert.deepEqual(config.services[replica].command.slice(-3), ['--replicaof', 'redis-1', '6379']);
    for (const sentinel of ['sentinel-1', 'sentinel-2', 'sentinel-3'])
      assert.match(config.services[sentinel].command.join(' '), /--sentinel/);
  });

  it('gives each service exactly the shared variables and its secrets, every node in AMQP_URL, Redis through Sentinel', () => {
    for (const declaration of SERVICE_DECLARATIONS as readonly ServiceDeclaration[]) {
      const { name, settings = {} } = declaration;
      const secrets = secretsOf(declaration);
      const { environment } = config.services[name];
      // The image refuses to start without a declared secret (PAYMENT_TOKEN_KEYS): a missing one is a dead service.
      const own = Object.keys(settings);
      assert.deepEqual(Object.keys(environment).sort(), [...CONFIG_VARIABLES, 'NODE_ENV', ...own, ...secrets].sort(), `${name}: env drift`);
      const urls = (environment.AMQP_URL as string).split(',').map((u) => new URL(u));
      assert.deepEqual(
        urls.map((u) => u.host),
        ['rabbitmq-1:5672', 'rabbitmq-2:5672', 'rabbitmq-3:5672'],
      );
      assert.ok(
        urls.every((u) => u.username === `warren-${name}` && u.pathname === '/warren'),
        `${name}: one least-privilege user, one vhost`,
      );
      assert.equal(environment.REDIS_SENTINELS, 'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379');
      assert.equal(environment.REDIS_SENTINEL_NAME, 'warren');
      assert.equal(environment.QUEUE_TYPE, 'quorum');
    }
  });

  it('publishes only the order API and node 1 management UI, on 127.0.0.1', () => {
    const published = Object.entries<any>(config.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p: { host_ip: string; target: number }) => `${name}:${p.host_ip}:${p.target}`),
    );
    assert.deepEqual(published.sort(), ['order:127.0.0.1:3000', 'rabbitmq-1:127.0.0.1:15672']);
  });
});
