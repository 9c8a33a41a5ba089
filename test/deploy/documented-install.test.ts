import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTokenVerifier } from '../../shared/auth/token-verifier';
import type { ServiceDeclaration } from '../../shared/lifecycle/service';
import { createLogger } from '../../shared/observability/logger';
import { requireTokenKeys } from '../../shared/security/require-token-keys';
import { loadFleetConfig, SERVICE_DECLARATIONS } from '../../workers/registry';
import { compile, docBlock } from '../docs/doc-runner';
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

/** What each container would start with: its ConfigMap, its Secret keys, and the image's NODE_ENV. */
function podEnvironments(manifests: Manifest[], secrets: Record<string, Record<string, string>>): Map<string, Record<string, string>> {
  const envs = new Map<string, Record<string, string>>();
  for (const d of byKind(manifests, 'Deployment')) {
    const container = d.spec.template.spec.containers[0];
    const env: Record<string, string> = { NODE_ENV: 'production' };
    for (const source of container.envFrom ?? []) {
      const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === source.configMapRef.name);
      Object.assign(env, cm?.data);
    }
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      const value = ref ? secrets[ref.name]?.[ref.key] : e.value;
      if (value !== undefined) env[e.name] = value;
      else assert.ok(ref?.optional, `${d.metadata.name}: ${e.name} from a missing key ${ref?.name}/${ref?.key}`);
    }
    envs.set(d.metadata.labels!['app.kubernetes.io/component']!, env);
  }
  return envs;
}

/** Everything a service checks before it serves: the configuration, the token keyring, the customer-token verifier. */
async function startsWith(service: string, env: Record<string, string>): Promise<void> {
  const config = loadFleetConfig(env);
  const declaration: ServiceDeclaration = SERVICE_DECLARATIONS.find((s) => s.name === service)!;
  if ((declaration.secrets ?? []).includes('PAYMENT_TOKEN_KEYS')) requireTokenKeys(config, createLogger({ service, level: 'silent' }));
  if (declaration.api && config.auth.mode !== 'off') await createTokenVerifier(config.auth);
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
      const manifests = await renderAsInstalled(install);
      const secrets: Record<string, Record<string, string>> = {};
      for (const create of calls.filter((c) => c[0] === 'kubectl' && c.includes('secret') && c.includes('generic'))) {
        const { name, data } = secretFrom(create);
        secrets[name] = data;
      }
      for (const s of byKind(manifests, 'Secret')) secrets[s.metadata.name] = s.stringData ?? {};
      const envs = podEnvironments(manifests, secrets);
      assert.deepEqual([...envs.keys()].sort(), SERVICE_DECLARATIONS.map((s) => s.name).sort());
      for (const [service, env] of envs) await startsWith(service, env);
    });
  }

  it('the check has teeth: without the price list the order service would not start', async () => {
    const env = { NODE_ENV: 'production', AUTH_MODE: 'off' };
    await assert.rejects(startsWith('order', env), /PRICE_LIST: required/);
  });
});
