import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../shared/config/config';
import { secretsOf, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { TEMPLATE_PATH } from './broker-access';
import { composeConfig, dockerComposeCommand, REPO } from './tools';
import { redisPasswordEnv } from '../../deploy/generate/redis-acl';

/** Reads user and password out of an AMQP or Redis URL. */
const credentials = (url: string): { user: string; password: string; vhost: string } => {
  const u = new URL(url);
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), vhost: decodeURIComponent(u.pathname.slice(1)) };
};

/** `depends_on` as service → condition (Compose v2 adds `required: true` and `restart: false` to each entry). */
const conditions = (dependsOn: Record<string, { condition: string }>): Record<string, string> =>
  Object.fromEntries(Object.entries(dependsOn).map(([name, d]) => [name, d.condition]));

describe('deploy: docker-compose.yml', function () {
  this.timeout(60_000);
  const configs: Record<string, any> = {};
  let scratch: string;

  before(async () => {
    dockerComposeCommand(); // fails with the install hint when Compose is missing
    scratch = mkdtempSync(path.join(tmpdir(), 'warren-compose-'));
    const empty = path.join(scratch, 'empty.env');
    writeFileSync(empty, '');
    // Without a .env (dev-only defaults) and with the documented example.
    configs['defaults'] = await composeConfig(empty);
    configs['.env.example'] = await composeConfig(path.join(REPO, '.env.example'));
  });

  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('passes `docker-compose config` with and without a .env', () => {
    for (const config of Object.values(configs)) {
      assert.deepEqual(
        Object.keys(config.services).sort(),
        [
          ...SERVICE_NAMES,
          'grafana',
          'prometheus',
          'rabbitmq',
          'rabbitmq-definitions',
          'redis',
          'redis-acl',
          'redis-functions',
          'topology',
        ].sort(),
      );
    }
  });

  it('gives each service exactly the shared variables (CONFIG_VARIABLES), its own settings and the secrets it declares', () => {
    // Port variables are left at their declared defaults, which prometheus.yml and the healthcheck use.
    for (const declaration of SERVICE_DECLARATIONS as readonly ServiceDeclaration[]) {
      const { name: service, settings = {} } = declaration;
      const secrets = secretsOf(declaration);
      const environment = configs['defaults'].services[service].environment as Record<string, string>;
      // NODE_ENV too: development without a .env (its fallbacks are published), production where .env says so.
      // Its own settings (ORDER_TIMEOUT_MS for order) reach it alone.
      const own = Object.keys(settings);
      assert.deepEqual(
        Object.keys(environment).sort(),
        [...CONFIG_VARIABLES, 'NODE_ENV', ...own, ...secrets].sort(),
        `${service}: env drift`,
      );
      assert.deepEqual(configs['defaults'].services[service].command, ['node', 'dist/workers/run.js', service]);
    }
  });

  it('connects each service as its own RabbitMQ user, with the password the definitions get', () => {
    const template = JSON.parse(readFileSync(path.join(REPO, TEMPLATE_PATH), 'utf8'));
    for (const config of Object.values(configs)) {
      const definitionsEnv = config.services['rabbitmq-definitions'].environment as Record<string, string>;
      for (const service of SERVICE_NAMES) {
        const amqp = credentials(config.services[service].environment.AMQP_URL);
        const user = template.users.find((u: { name: string }) => u.name === amqp.user);
        assert.ok(user, `${service} connects as ${amqp.user}, which the definitions do not create`);
        assert.equal(amqp.user, `warren-${service}`);
        assert.equal(amqp.password, definitionsEnv[user.password_env], `${service}: AMQP password differs from ${user.password_env}`);
        assert.equal(amqp.vhost, template.vhosts[0].name);
        const redis = credentials(config.services[service].environment.REDIS_URL);
        const aclEnv = config.services['redis-acl'].environment as Record<string, string>;
        assert.equal(redis.user, `warren-${service}`, `${service}: not its own Redis ACL user`);
        assert.equal(redis.password, aclEnv[redisPasswordEnv(service)], `${service}: Redis password differs from the ACL's`);
      }
    }
    // The example's credentials are used when given; the defaults say they are dev-only.
    assert.match(configs['defaults'].services.order.environment.AMQP_URL, /:dev-only-order@/);
    assert.match(configs['.env.example'].services.order.environment.AMQP_URL, /:change-me-order@/);
  });

  it('scales workers without port clashes: only order publishes a host port (its declared API port), nothing pins a container name', () => {
    const { services } = configs['defaults'];
    for (const [name, service] of Object.entries<any>(services)) {
      assert.equal(service.container_name, undefined, `${name} has a container_name: it cannot scale`);
      for (const port of service.ports ?? [])
        assert.equal(port.host_ip ?? String(port).split(':')[0], '127.0.0.1', `${name}: host port not bound to 127.0.0.1`);
    }
    assert.equal(services.inventory.ports, undefined);
    assert.equal(services.payment.ports, undefined);
    const api = SERVICE_DECLARATIONS.find((s) => s.name === 'order')!.api;
    assert.deepEqual(
      services.order.ports.map((p: any) =>
        String(p.target ?? p)
          .replace(/\/tcp$/, '')
          .split(':')
          .pop(),
      ),
      [String(api.default)],
    );
  });

  it('starts services in order, with healthchecks: definitions -> RabbitMQ, Redis -> topology -> services -> Prometheus -> Grafana', () => {
    const { services } = configs['defaults'];
    for (const name of [...SERVICE_NAMES, 'rabbitmq', 'redis', 'prometheus', 'grafana'])
      assert.ok(services[name].healthcheck?.test, `${name} has no healthcheck`);
    for (const name of SERVICE_NAMES) {
      assert.deepEqual(conditions(services[name].depends_on), {
        rabbitmq: 'service_healthy',
        redis: 'service_healthy',
        'redis-functions': 'service_completed_successfully',
        topology: 'service_completed_successfully',
      });
      assert.deepEqual(services[name].healthcheck.test, ['CMD', 'node', 'healthcheck.mjs', '/readyz']);
      assert.equal(services[name].read_only, true);
    }
    assert.deepEqual(conditions(services.rabbitmq.depends_on), { 'rabbitmq-definitions': 'service_completed_successfully' });
    assert.deepEqual(conditions(services.redis.depends_on), { 'redis-acl': 'service_completed_successfully' });
    // The topology is the operator's: declared with warren-admin before any service starts (service users may not).
    assert.deepEqual(services.topology.command, ['node', 'dist/workers/topology.js', 'apply']);
    assert.match(services.topology.environment.AMQP_URL, /^amqp:\/\/warren-admin:/);
    assert.deepEqual(conditions(services.topology.depends_on), { rabbitmq: 'service_healthy' });
  });

  it('builds the one image once: only order has a build, the other services run the same tag', () => {
    const { services } = configs['defaults'];
    assert.ok(services.order.build, 'order builds the image');
    for (const name of SERVICE_NAMES) {
      assert.equal(services[name].image, services.order.image, `${name} runs another image`);
      if (name !== 'order') assert.equal(services[name].build, undefined, `${name} would build the same image again`);
    }
  });

  it("leaves Prometheus' lifecycle API off: nobody who reaches its port can shut it down or reload it", () => {
    for (const config of Object.values(configs)) assert.ok(!config.services['prometheus'].command.includes('--web.enable-lifecycle'));
  });

  it('persists broker, Redis (AOF), Prometheus and Grafana in named volumes, and mounts files that exist', () => {
    const { services, volumes } = configs['defaults'];
    assert.deepEqual(Object.keys(volumes).sort(), [
      'grafana-data',
      'prometheus-data',
      'rabbitmq-data',
      'rabbitmq-definitions',
      'redis-acl',
      'redis-data',
    ]);
    assert.ok(services.redis.command.includes('--appendonly') && services.redis.command.includes('yes'));
    for (const [name, service] of Object.entries<any>(services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
        if (source.startsWith('/')) assert.ok(existsSync(source), `${name} mounts ${source}, which does not exist`);
      }
    }
  });
});
