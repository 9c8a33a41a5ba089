/**
 * The three ways Warren's RabbitMQ definitions reach a broker, each renamed under unique names so that suites never
 * collide: compose's template rendered by its own script, the chart's Secret with plaintext passwords, and the chart's
 * Secret from password hashes made by docs/deploy.md's command.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { passwordEnv } from '../../../deploy/generate/broker-definitions';
import { stableRabbitHash } from '../../../deploy/generate/chart-ci-values';
import { SERVICE_NAMES } from '../../../workers/registry';
import { runDocBlocks } from '../../docs/doc-runner';
import { uniqueName } from '../../helpers/broker';
import { readTemplate, renameDefinitions, renderWithScript, type Definitions, type DefinitionsToImport } from '../broker-access';
import { byKind, REPO, renderChart } from '../tools';

/** The definitions template, renamed, rendered by the script compose runs (hashes only), and imported. */
export async function composeDefinitions(): Promise<DefinitionsToImport> {
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
export async function chartDefinitions(): Promise<DefinitionsToImport> {
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
export async function chartHashedDefinitions(): Promise<DefinitionsToImport> {
  const users = [...SERVICE_NAMES, 'admin'];
  const passwords = Object.fromEntries(users.map((u) => [`warren-${u}`, randomBytes(12).toString('hex')]));
  const env = Object.fromEntries(users.map((u) => [passwordEnv(u), passwords[`warren-${u}`]!]));
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-broker-hashes-'));
  try {
    symlinkSync(path.join(REPO, 'deploy'), path.join(dir, 'deploy'));
    await runDocBlocks('docs/deploy.md', ['helm-broker-hashes'], { env, cwd: dir, timeoutMs: 60_000 });
    const written = parseYaml(readFileSync(path.join(dir, 'broker-hashes.yaml'), 'utf8')) as {
      rabbitmqCluster: { passwordHashes: Record<string, string> };
    };
    for (const [user, hash] of Object.entries(written.rabbitmqCluster.passwordHashes))
      assert.match(String(hash), /^[A-Za-z0-9+/]{48}$/, `broker-hashes.yaml: ${user} is not a hash`);
    // The doc names the three services; one added to the registry since gets its line the same way, as its user would.
    const hashes = written.rabbitmqCluster.passwordHashes;
    for (const service of SERVICE_NAMES) hashes[service] ??= stableRabbitHash(passwords[`warren-${service}`]!);
    writeFileSync(path.join(dir, 'broker-hashes.yaml'), stringifyYaml(written));
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
