import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqplib from 'amqplib';
import type { Channel } from 'amqplib';
import { parse as parseYaml } from 'yaml';
import { declareTopology, ensureTopology, MissingTopology } from '../../shared/messaging/topology-check';
import {
  DEAD_LETTER_ROUTING_KEY,
  deadLetterQueueName,
  failuresExchangeName,
  RETURN_ROUTING_KEY,
  retryQueueName,
  retryRoutingKey,
  type Topology,
} from '../../shared/messaging/topology';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { runDocBlocks } from '../docs/doc-runner';
import { rabbitmqctl, uniqueName } from '../helpers/broker';
import { waitFor } from '../helpers/wait';
import {
  allowed,
  importDefinitions,
  publish,
  readTemplate,
  refusal,
  removeDefinitions,
  renameDefinitions,
  renderWithScript,
  type Definitions,
  type DefinitionsToImport,
  type ImportedDefinitions,
} from './broker-access';
import { byKind, REPO, renderChart } from './tools';
import { publishedKeys } from '../../shared/lifecycle/declaration';

const EXCHANGE = 'warren.events';
const declarationOf = (service: ServiceName) => SERVICE_DECLARATIONS.find((s) => s.name === service)!;
/** The routing keys a service declares it publishes. */
const publishesOf = (service: ServiceName): readonly string[] => publishedKeys(declarationOf(service));
const queueOf = (service: ServiceName): string => declarationOf(service).consumes[0]!.name;

/** The topology each service looks at on start-up (the operator declares it): its declared queues, default config. */
function topologyOf(service: ServiceName): Topology {
  const config = loadFleetConfig({});
  return { exchange: EXCHANGE, queues: declarationOf(service).consumes, retryDelaysMs: config.retryDelaysMs, queueType: config.queueType };
}

async function getOne(connection: amqplib.ChannelModel, queue: string, routingKey: string): Promise<void> {
  const channel = await connection.createChannel();
  try {
    await waitFor(
      `${routingKey} in ${queue}`,
      async () => {
        const message = await channel.get(queue, { noAck: false });
        if (!message) return false;
        channel.ack(message);
        return message.fields.routingKey === routingKey || undefined;
      },
      10_000,
      50,
    );
  } finally {
    await channel.close();
  }
}

/** An assertion that `service` may not do `what` (403 ACCESS_REFUSED), recording each refusal in `refusals`. */
function refusedAs(connections: Record<ServiceName, amqplib.ChannelModel>, refusals: string[]) {
  return async (service: ServiceName, what: string, operation: (ch: amqplib.ConfirmChannel) => Promise<unknown>) => {
    const error = await refusal(connections[service], operation).catch((e: Error) =>
      assert.fail(`${service} may not ${what}, but ${e.message}`),
    );
    assert.equal(error.code, 403, `${service} ${what}: ${error.message}`);
    assert.match(error.message, /ACCESS_REFUSED/);
    refusals.push(`${service}: ${what}`);
  };
}

/** The definitions template, renamed, rendered by the script compose runs (hashes only), and imported. */
async function composeDefinitions(): Promise<DefinitionsToImport> {
  const id = uniqueName('wdp');
  const template = renameDefinitions(readTemplate(), id);
  const passwords: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const user of template.users) {
    const password = randomBytes(12).toString('hex');
    passwords[user.name.replace(`${id}-`, 'warren-')] = password;
    env[user.password_env!] = password;
  }
  const rendered = await renderWithScript(template, env);
  assert.ok(
    rendered.users.every((u) => !('password' in u) && !('password_env' in u)),
    'rendered definitions hold a plaintext password',
  );
  return { definitions: rendered, id, passwords };
}

/** The definitions Secret the chart renders for its RabbitmqCluster, renamed and imported. */
async function chartDefinitions(): Promise<DefinitionsToImport> {
  const manifests = await renderChart(['ci/all-features-keda-values.yaml']);
  const secret = byKind(manifests, 'Secret').find((s) => s.metadata.name.endsWith('-rabbitmq-definitions'));
  const chartDefinitions = JSON.parse(secret?.stringData?.['definitions.json'] ?? 'null') as Definitions;
  const id = uniqueName('wdc');
  const passwords = Object.fromEntries(chartDefinitions.users.map((u) => [u.name, u.password ?? '']));
  return { definitions: renameDefinitions(chartDefinitions, id), id, passwords };
}

/**
 * The chart's definitions as docs/deploy.md recommends: rabbitmqCluster.passwordHashes from the doc's own command
 * (run as written, from a directory laid out like the repo) for fresh passwords, and no plaintext password at all.
 */
async function chartHashedDefinitions(): Promise<DefinitionsToImport> {
  const users = [...SERVICE_NAMES, 'admin'];
  const passwords = Object.fromEntries(users.map((u) => [`warren-${u}`, randomBytes(12).toString('hex')]));
  const env = Object.fromEntries(users.map((u) => [`RABBITMQ_${u.toUpperCase()}_PASSWORD`, passwords[`warren-${u}`]!]));
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-broker-hashes-'));
  try {
    symlinkSync(path.join(REPO, 'deploy'), path.join(dir, 'deploy'));
    await runDocBlocks('docs/deploy.md', ['helm-broker-hashes'], { env, cwd: dir, timeoutMs: 60_000 });
    const written = parseYaml(readFileSync(path.join(dir, 'broker-hashes.yaml'), 'utf8')) as {
      rabbitmqCluster: { passwordHashes: object };
    };
    for (const [user, hash] of Object.entries(written.rabbitmqCluster.passwordHashes))
      assert.match(String(hash), /^[A-Za-z0-9+/]{48}$/, `broker-hashes.yaml: ${user} is not a hash`);
    // The doc's everything-values.yaml: the URLs come from an existing Secret, the users from the hashes.
    const manifests = await renderChart(
      ['ci/all-features-keda-values.yaml', path.join(dir, 'broker-hashes.yaml')],
      ['rabbitmqCluster.passwords=null', 'secrets.existingSecret=warren-credentials'],
    );
    const secret = byKind(manifests, 'Secret').find((s) => s.metadata.name.endsWith('-rabbitmq-definitions'));
    const definitions = JSON.parse(secret?.stringData?.['definitions.json'] ?? 'null') as Definitions;
    const id = uniqueName('wdh');
    return { definitions: renameDefinitions(definitions, id), id, passwords };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy: RabbitMQ definitions enforce least privilege (real broker)', function () {
  this.timeout(60_000);
  let defs: ImportedDefinitions;
  let chartDefs: ImportedDefinitions;
  let hashedChartDefs: ImportedDefinitions;
  let hashedUsers: Definitions['users'];
  const connections = {} as Record<ServiceName, amqplib.ChannelModel>;
  let operator: amqplib.ChannelModel;

  before(async () => {
    // One import (each rabbitmqctl call starts an Erlang VM) of compose's hashed definitions, the chart's with
    // password hashes and the chart's with plaintext passwords (discouraged, still working), each under unique names.
    const batch = await Promise.all([composeDefinitions(), chartHashedDefinitions(), chartDefinitions()]);
    hashedUsers = batch[1].definitions.users;
    [defs, hashedChartDefs, chartDefs] = (await importDefinitions(batch)) as [
      ImportedDefinitions,
      ImportedDefinitions,
      ImportedDefinitions,
    ];
    for (const service of SERVICE_NAMES) connections[service] = await amqplib.connect(defs.url(`warren-${service}`));
    // The operator's step (`npm run topology -- apply`, compose's one-shot, the chart's job): the topology is theirs.
    operator = await amqplib.connect(defs.url('warren-admin'));
    const channel = await operator.createChannel();
    for (const service of SERVICE_NAMES) await declareTopology(channel, topologyOf(service));
    await channel.close();
  });

  after(async () => {
    for (const connection of [...Object.values(connections), operator]) await connection?.close().catch(() => undefined);
    await removeDefinitions([defs, hashedChartDefs, chartDefs]);
  });

  it('creates one vhost with one user per service plus an operator, and no guest access', async () => {
    const listed = await rabbitmqctl('list_permissions', '-p', defs.vhost);
    const users = listed
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t')[0])
      .sort();
    assert.deepEqual(users, Object.values(defs.users).sort());
    assert.ok(!users.includes('guest'));
    await assert.rejects(amqplib.connect(defs.url('guest', 'guest')), 'guest opened the Warren vhost');
  });

  it('lets each service find its whole topology by looking (passive declares need no permission)', async () => {
    for (const service of SERVICE_NAMES) {
      const missing = new MissingTopology();
      const look = { missing, openChannel: () => connections[service].createChannel() };
      await allowed(connections[service], (ch) => ensureTopology(ch as unknown as Channel, topologyOf(service), look, 'test'));
      assert.deepEqual(missing.list(), [], service);
    }
  });

  it('refuses every service user every route around its permissions: no declaration, binding or deletion at all', async () => {
    const refusals: string[] = [];
    const expectRefused = refusedAs(connections, refusals);
    for (const service of SERVICE_NAMES) {
      const own = topologyOf(service).queues[0]!;
      const failures = failuresExchangeName(own.name);
      // The review's first route: bind the events exchange into its own failures exchange (with a key it consumes, which
      // the old topic permissions let it bind), then publish there.
      await expectRefused(service, `bind ${EXCHANGE} into ${failures}`, (ch) => ch.bindExchange(failures, EXCHANGE, own.bindings[0]!));
      // The second: a queue of its own whose dead letters go to the events exchange under any routing key.
      await expectRefused(service, 'declare a queue dead-lettering into the events exchange', (ch) =>
        ch.assertQueue(`${own.name}.retry.987654`, {
          durable: true,
          arguments: { 'x-message-ttl': 1, 'x-dead-letter-exchange': EXCHANGE, 'x-dead-letter-routing-key': 'order.placed' },
        }),
      );
      await expectRefused(service, `delete ${EXCHANGE}`, (ch) => ch.deleteExchange(EXCHANGE));
      await expectRefused(service, `delete ${failures}`, (ch) => ch.deleteExchange(failures));
      await expectRefused(service, `delete ${own.name}`, (ch) => ch.deleteQueue(own.name));
      await expectRefused(service, `declare ${EXCHANGE}`, (ch) => ch.assertExchange(EXCHANGE, 'topic', { durable: true }));
      await expectRefused(service, `bind ${own.name} to its own key ${own.bindings[0]}`, (ch) =>
        ch.bindQueue(own.name, EXCHANGE, own.bindings[0]!),
      );
      await expectRefused(service, `unbind ${own.name}`, (ch) => ch.unbindQueue(own.name, EXCHANGE, own.bindings[0]!));
      await expectRefused(service, `bind ${own.name} to its own failures exchange`, (ch) => ch.bindQueue(own.name, failures, 'forged'));
    }
    console.log(`      refused with 403 ACCESS_REFUSED (${refusals.length}): ${refusals.join('; ')}`);
    // And the events still flow: the bindings the operator made are all there.
    await allowed(connections.order, async (ch) => publish(ch, EXCHANGE, 'order.placed'));
    await getOne(connections.payment, queueOf('payment'), 'order.placed');
  });

  it('carries the saga: order.placed reaches inventory and payment; their outcomes reach order', async () => {
    await allowed(connections.order, async (ch) => publish(ch, EXCHANGE, 'order.placed'));
    await getOne(connections.inventory, queueOf('inventory'), 'order.placed');
    await getOne(connections.payment, queueOf('payment'), 'order.placed');
    await getOne(connections.order, queueOf('order'), 'order.placed');
    await allowed(connections.inventory, async (ch) => publish(ch, EXCHANGE, 'inventory.reserved'));
    await allowed(connections.payment, async (ch) => publish(ch, EXCHANGE, 'payment.captured'));
    await getOne(connections.order, queueOf('order'), 'inventory.reserved');
    await getOne(connections.order, queueOf('order'), 'payment.captured');
    for (const service of SERVICE_NAMES) {
      for (const key of publishesOf(service)) await allowed(connections[service], async (ch) => publish(ch, EXCHANGE, key));
    }
  });

  it('lets each service copy a failed message to its own retry tier and DLQ (its own failures exchange)', async () => {
    const [delay] = topologyOf('order').retryDelaysMs;
    for (const service of SERVICE_NAMES) {
      const queue = queueOf(service);
      await allowed(connections[service], async (ch) => publish(ch, failuresExchangeName(queue), retryRoutingKey(delay!)));
      await allowed(connections[service], async (ch) => publish(ch, failuresExchangeName(queue), DEAD_LETTER_ROUTING_KEY));
      // The retry copy waits out its tier, which then hands it back to the service's own queue, and only that one.
      const back = await connections[service].createChannel();
      try {
        const death = await waitFor(
          `the retry copy back in ${queue} from ${retryQueueName(queue, delay!)}`,
          async () => {
            const message = await back.get(queue, { noAck: false });
            if (!message) return undefined;
            back.ack(message);
            const [last] = (message.properties.headers?.['x-death'] ?? []) as amqplib.XDeath[];
            return message.fields.routingKey === RETURN_ROUTING_KEY && last?.queue === retryQueueName(queue, delay!) ? last : undefined;
          },
          10_000,
          50,
        );
        assert.equal(death.reason, 'expired', 'it left the tier when its delay ran out');
        assert.deepEqual(death['routing-keys'], [retryRoutingKey(delay!)], 'it reached the tier through the failures exchange');
      } finally {
        await back.close();
      }
      // The DLQ is the operator's to read (the DLQ tool).
      await getOne(operator, deadLetterQueueName(queue), DEAD_LETTER_ROUTING_KEY);
      // What a KEDA rabbitmq trigger does with the service's own URL.
      await allowed(connections[service], (ch) => ch.checkQueue(queue));
    }
  });

  it("refuses every service another service's queues and events with ACCESS_REFUSED (403)", async () => {
    const refusals: string[] = [];
    const expectRefused = refusedAs(connections, refusals);
    for (const service of SERVICE_NAMES) {
      const own = topologyOf(service).queues[0]!;
      for (const other of SERVICE_NAMES.filter((s) => s !== service)) {
        const queue = queueOf(other);
        await expectRefused(service, `consume ${queue}`, (ch) => ch.consume(queue, () => undefined));
        await expectRefused(service, `get from ${deadLetterQueueName(queue)}`, (ch) => ch.get(deadLetterQueueName(queue)));
        await expectRefused(service, `declare ${queue}`, (ch) =>
          ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }),
        );
        await expectRefused(service, `purge ${queue}`, (ch) => ch.purgeQueue(queue));
        await expectRefused(service, `publish ${publishesOf(other)[0]}`, async (ch) => publish(ch, EXCHANGE, publishesOf(other)[0]!));
      }
      const foreignBinding = service === 'order' ? 'order.confirmed' : 'payment.captured';
      if (!own.bindings.includes(foreignBinding)) {
        await expectRefused(service, `bind ${own.name} to ${foreignBinding}`, (ch) => ch.bindQueue(own.name, EXCHANGE, foreignBinding));
      }
      await expectRefused(service, 'publish to amq.topic', async (ch) => publish(ch, 'amq.topic', publishesOf(service)[0]!));
      await expectRefused(service, 'declare another exchange', (ch) => ch.assertExchange('warren.rogue', 'topic'));
    }
    console.log(`      refused with 403 ACCESS_REFUSED (${refusals.length}): ${refusals.join('; ')}`);
  });

  it("refuses a login with another service's password", async () => {
    await assert.rejects(amqplib.connect(defs.url('warren-inventory', defs.passwords['warren-payment'])), /ACCESS_REFUSED|403/);
  });

  it("closes the default-exchange gap: no service can push into a queue by name, nor into another's failures exchange", async () => {
    // Copies go through each service's own failures exchange, so no user holds write on amq.default.
    for (const service of SERVICE_NAMES) {
      for (const other of SERVICE_NAMES) {
        const error = await refusal(connections[service], async (ch) => publish(ch, '', queueOf(other)));
        assert.equal(error.code, 403, `${service} publishing to ${queueOf(other)} by name`);
        if (other === service) continue;
        const foreign = await refusal(connections[service], async (ch) =>
          publish(ch, failuresExchangeName(queueOf(other)), DEAD_LETTER_ROUTING_KEY),
        );
        assert.equal(foreign.code, 403, `${service} publishing to ${failuresExchangeName(queueOf(other))}`);
      }
    }
  });

  it("the chart's definitions with password hashes (docs/deploy.md's command) import, and every user logs in with its password", async () => {
    // No password in what the chart rendered: each user a sha256 hash, which the broker checks a login against.
    for (const user of hashedUsers) {
      assert.deepEqual(Object.keys(user).sort(), ['hashing_algorithm', 'name', 'password_hash', 'tags'], user.name);
      assert.equal((user as { hashing_algorithm?: string }).hashing_algorithm, 'rabbit_password_hashing_sha256');
    }
    // importDefinitions returned only once each user had logged in with its password; another's is refused.
    assert.deepEqual(Object.keys(hashedChartDefs.users).sort(), [...SERVICE_NAMES.map((s) => `warren-${s}`), 'warren-admin'].sort());
    for (const user of Object.keys(hashedChartDefs.users)) {
      const connection = await amqplib.connect(hashedChartDefs.url(user));
      await connection.close();
    }
    await assert.rejects(
      amqplib.connect(hashedChartDefs.url('warren-order', hashedChartDefs.passwords['warren-payment'])),
      /ACCESS_REFUSED|403/,
    );
    const listed = await rabbitmqctl('list_users');
    assert.match(listed, new RegExp(`${hashedChartDefs.users['warren-admin']}\\s+\\[administrator\\]`));
  });

  it("the chart's definitions (plaintext passwords in a Secret) import, and every user logs in with its password", async () => {
    // importDefinitions returned only once each user had logged in; the operator keeps its management tag.
    const listed = await rabbitmqctl('list_users');
    assert.match(listed, new RegExp(`${chartDefs.users['warren-admin']}\\s+\\[administrator\\]`));
  });
});
