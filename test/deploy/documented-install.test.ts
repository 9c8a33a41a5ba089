import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTokenVerifier } from '../../shared/auth/token-verifier';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { createLogger } from '../../shared/observability/logger';
import { requireTokenKeys } from '../../shared/lifecycle/require-token-keys';
import type { WarrenConfig } from '../../shared/config/config';
import { loadFleetConfig, SERVICE_DECLARATIONS, SERVICE_NAMES } from '../../workers/registry';
import { compile, docBlock } from '../docs/doc-runner';
import { mountedCredentials, secretKeyRefs } from './pod-credentials';
import { byKind, helm, parseManifests, REPO, type Manifest } from './tools';

const DOC = 'docs/deploy.md';
/** The variables docs/deploy.md tells a user to set, with values of the right shape. */
const USER_ENV = {
  RABBITMQ_ORDER_PASSWORD: 'pw-order',
  RABBITMQ_INVENTORY_PASSWORD: 'pw-inventory',
  RABBITMQ_PAYMENT_PASSWORD: 'pw-payment',
  RABBITMQ_ADMIN_PASSWORD: 'pw-admin',
  REDIS_PASSWORD: 'pw-redis',
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
};

/**
 * The doc's blocks, run as written with `kubectl` and `helm` recorded instead of run: each call's arguments, as the
 * shell expanded them (variables, `$(openssl rand ...)`). What a user's cluster would have been asked to do.
 */
function recordedCalls(names: readonly string[]): string[][] {
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-doc-install-'));
  try {
    symlinkSync(path.join(REPO, 'deploy'), path.join(dir, 'deploy'));
    const record = `kubectl() { printf '%s\\0' kubectl "$@" >> calls; printf '\\n' >> calls; }\nhelm() { printf '%s\\0' helm "$@" >> calls; printf '\\n' >> calls; }\n`;
    const { script } = compile(names.map((name) => docBlock(DOC, name)));
    execFileSync('bash', ['-c', record + script.replace('set -euo pipefail', 'set -uo pipefail'), 'doc'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', ...USER_ENV },
      stdio: 'ignore',
    });
    const calls = execFileSync('cat', ['calls'], { cwd: dir, encoding: 'utf8' });
    return calls
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\0').slice(0, -1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` with exactly the flags the doc's `helm install` was given, from a directory holding its values file. */
async function renderAsInstalled(install: string[]): Promise<Manifest[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-doc-render-'));
  try {
    symlinkSync(path.join(REPO, 'deploy'), path.join(dir, 'deploy'));
    const values = docBlock(DOC, 'helm-values');
    execFileSync('bash', ['-c', `cat > '${values.saveAs}'`], { cwd: dir, input: values.code });
    const flags = install.slice(2).filter((a) => !['--wait', '--timeout', '5m'].includes(a));
    const [release, chart, ...rest] = flags;
    const absolute = rest.map((a) => (a.endsWith('.yaml') ? path.join(dir, a) : a));
    return parseManifests(await helm('template', release!, path.join(dir, chart!), ...absolute));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Secret `kubectl create secret generic NAME --from-literal=key=value ...` would have made. */
function secretFrom(create: string[]): { name: string; data: Record<string, string> } {
  const name = create[create.indexOf('generic') + 1]!;
  const data: Record<string, string> = {};
  for (const arg of create.filter((a) => a.startsWith('--from-literal='))) {
    const [key, ...value] = arg.slice('--from-literal='.length).split('=');
    data[key!] = value.join('=');
  }
  return { name, data };
}

/**
 * What each container would start with: its ConfigMap, its own variables and the image's NODE_ENV, and its
 * credentials as the kubelet would mount them: each projected Secret key written to a file under `dir` (as the
 * Secret holds it, in the volume's mode), with `<NAME>_FILE` pointing there instead of the pod's mount path, so
 * the services' own loader reads them (shared/config/secret-files.ts).
 */
function podEnvironments(
  manifests: Manifest[],
  secrets: Record<string, Record<string, string>>,
  dir: string,
): Map<string, Record<string, string>> {
  const envs = new Map<string, Record<string, string>>();
  for (const d of byKind(manifests, 'Deployment')) {
    const service = d.metadata.labels!['app.kubernetes.io/component']!;
    const container = d.spec.template.spec.containers[0];
    const env: Record<string, string> = { NODE_ENV: 'production' };
    for (const source of container.envFrom ?? []) {
      const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === source.configMapRef.name);
      Object.assign(env, cm?.data);
    }
    assert.deepEqual(secretKeyRefs(container), [], `${d.metadata.name}: a secret in the environment instead of a file`);
    for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const mount = path.join(dir, service);
    mkdirSync(mount);
    for (const credential of mountedCredentials(d.spec.template.spec, container)) {
      const file = path.join(mount, path.basename(credential.file));
      const value = secrets[credential.secret]?.[credential.key];
      // A missing key of an optional source leaves the file out: the pod starts, and the service names the variable.
      if (value !== undefined) writeFileSync(file, value, { mode: credential.mode });
      else
        assert.ok(
          credential.optional,
          `${d.metadata.name}: ${credential.variable}_FILE from a missing key ${credential.secret}/${credential.key}`,
        );
      env[`${credential.variable}_FILE`] = file;
    }
    envs.set(service, env);
  }
  return envs;
}

/** Everything a service checks before it serves: the configuration, the token keyring, the customer-token verifier. */
async function startsWith(service: string, env: Record<string, string>): Promise<WarrenConfig> {
  const config = loadFleetConfig(env);
  const declaration: ServiceDeclaration = SERVICE_DECLARATIONS.find((s) => s.name === service)!;
  if ((declaration.secrets ?? []).includes('PAYMENT_TOKEN_KEYS')) requireTokenKeys(config, createLogger({ service, level: 'silent' }));
  if (declaration.api && config.auth.mode !== 'off') await createTokenVerifier(config.auth);
  return config;
}

describe('deploy: every documented Helm install starts every service', function () {
  this.timeout(60_000);

  const paths: [string, string][] = [
    ['existing Secret', 'helm-existing-secret'],
    ['chart-made Secret', 'helm-chart-secret'],
  ];
  for (const [title, block] of paths) {
    it(`${title}: the rendered environment passes each service's configuration loader, as the image runs it`, async () => {
      const calls = recordedCalls([block]);
      const install = calls.find((c) => c[0] === 'helm' && c[1] === 'install');
      assert.ok(install, `${DOC} block ${block} runs no helm install`);
      const secrets: Record<string, Record<string, string>> = {};
      for (const create of calls.filter((c) => c[0] === 'kubectl' && c.includes('secret') && c.includes('generic'))) {
        const { name, data } = secretFrom(create);
        secrets[name] = data;
      }
      // The doc names the three services; one added to the registry since gets its URL the same way, as its user would.
      const url = (service: string) => `amqp://warren-${service}:pw-${service}@rabbitmq.shop.svc:5672/warren`;
      for (const service of SERVICE_NAMES.filter((name) => !install.some((a) => a.includes(`warren-${name}:`)))) {
        const existing = Object.values(secrets).find((data) => 'order-amqp-url' in data);
        if (existing) existing[`${service}-amqp-url`] ??= url(service);
        else install.push('--set', `secrets.amqpUrls.${service}=${url(service)}`);
      }
      const manifests = await renderAsInstalled(install);
      for (const s of byKind(manifests, 'Secret')) secrets[s.metadata.name] = s.stringData ?? {};
      const dir = mkdtempSync(path.join(tmpdir(), 'warren-doc-mounts-'));
      try {
        const envs = podEnvironments(manifests, secrets, dir);
        assert.deepEqual([...envs.keys()].sort(), SERVICE_DECLARATIONS.map((s) => s.name).sort());
        for (const [service, env] of envs) {
          const config = await startsWith(service, env);
          // The URLs reached the service from the files, not from its localhost defaults.
          assert.match(config.amqpUrl, new RegExp(`^amqp://warren-${service}:[^@]+@rabbitmq\\.shop\\.svc:5672/warren$`), service);
          assert.match(config.redisUrl, /^redis:\/\/:[^@]+@redis\.shop\.svc:6379$/, service);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('the check has teeth: without the price list the order service would not start', async () => {
    const env = { NODE_ENV: 'production', AUTH_MODE: 'off' };
    await assert.rejects(startsWith('order', env), /PRICE_LIST: required/);
  });

  it('the check reads the mounted files: a credential file that is not there stops start-up, naming its variable', async () => {
    const env = { NODE_ENV: 'production', AUTH_MODE: 'off', PRICE_LIST: 'off', AMQP_URL_FILE: path.join(tmpdir(), 'warren-no-such-file') };
    await assert.rejects(startsWith('inventory', env), /AMQP_URL_FILE: cannot read/);
  });
});
