import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);

export const ROOT = path.resolve(__dirname, '../..');
export const PROMETHEUS_DIR = path.join(ROOT, 'deploy/prometheus');
/** The one copy of the alert rules and dashboards: the chart's, which compose mounts too. */
export const RULES_DIR = path.join(ROOT, 'deploy/helm/warren/files/rules');
export const DASHBOARD_DIR = path.join(ROOT, 'deploy/helm/warren/files/dashboards');
export const RABBITMQ_PROMETHEUS = 'http://127.0.0.1:15692';

/** Fails with what to install when Debian's prometheus package is missing: the proof must never be skipped. */
export async function requireBinary(name: 'prometheus' | 'promtool'): Promise<string> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${name}`]);
    return stdout.trim();
  } catch {
    throw new Error(
      `${name} not found on PATH: install Debian's prometheus package (apt-get install -y --no-install-recommends prometheus)`,
    );
  }
}

export async function promtool(...args: string[]): Promise<string> {
  const bin = await requireBinary('promtool');
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: ROOT, timeout: 60_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: error });
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Enables rabbitmq_prometheus on the local broker unless its endpoint already answers (idempotent; CI-safe). */
export async function ensureRabbitmqPrometheus(): Promise<void> {
  if (await answers(`${RABBITMQ_PROMETHEUS}/metrics/per-object`)) return;
  await run('rabbitmq-plugins', ['enable', 'rabbitmq_prometheus'], { timeout: 90_000 });
  await waitFor('rabbitmq_prometheus on :15692', () => answers(`${RABBITMQ_PROMETHEUS}/metrics/per-object`), 60_000, 500);
}

export interface Targets {
  /** host:port of each service's ops server. */
  warren: string[];
  rabbitmq: string;
}

/** The shipped prometheus.yml with the compose host names swapped for the test fleet's, scraping every second. */
export async function testConfig(targets: Targets): Promise<string> {
  const shipped = parseYaml(await readFile(path.join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };
  const job = (name: string) => {
    const found = shipped.scrape_configs.find((c) => c.job_name === name);
    if (!found) throw new Error(`deploy/prometheus/prometheus.yml has no ${name} job`);
    return found;
  };
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [path.join(RULES_DIR, '*.yml')],
    scrape_configs: [
      { job_name: 'warren', metrics_path: job('warren').metrics_path ?? '/metrics', static_configs: [{ targets: targets.warren }] },
      { job_name: 'rabbitmq', metrics_path: job('rabbitmq').metrics_path, static_configs: [{ targets: [targets.rabbitmq] }] },
    ],
  };
  return JSON.stringify(config, null, 2);
}

export interface PrometheusServer {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts Debian's prometheus on a free port with its own data dir; `stop()` ends it and removes the dir. */
export async function startPrometheus(config: string): Promise<PrometheusServer> {
  const bin = await requireBinary('prometheus');
  const dir = await mkdtemp(path.join(tmpdir(), 'warren-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  // A watchdog shell runs prometheus and ends it with this process too: a test runner killed outright
  // (a CI timeout, kill -9) must not leave a prometheus behind.
  const watchdog = [
    '"$0" "$@" & child=$!',
    "trap 'kill $child 2>/dev/null; wait $child; exit 0' TERM INT",
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1 & wait $!; done`,
    'kill $child 2>/dev/null; wait $child',
  ].join('\n');
  const child: ChildProcess = spawn('sh', ['-c', watchdog, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'prometheus ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
        return answers(`${url}/-/ready`);
      },
      30_000,
      200,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error });
  }
  return { url, dir, stop };
}

export interface QueryResult {
  status: string;
  error?: string;
  series: { metric: Record<string, string>; value: [number, string] }[];
}

export async function query(prometheus: string, expr: string): Promise<QueryResult> {
  const response = await fetch(`${prometheus}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== 'success') return { status: body.status, ...(body.error ? { error: body.error } : {}), series: [] };
  const result =
    body.data!.resultType === 'scalar'
      ? [{ metric: {}, value: body.data!.result as [number, string] }]
      : (body.data!.result as QueryResult['series']);
  return { status: body.status, series: result };
}

export async function api<T>(prometheus: string, route: string): Promise<T> {
  const body = (await (await fetch(`${prometheus}${route}`)).json()) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`${route}: ${JSON.stringify(body)}`);
  return body.data;
}

export interface PanelTarget {
  dashboard: string;
  panel: string;
  type: string;
  refId: string;
  expr: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: unknown; definition?: string; allValue?: string }[] };
  panels: {
    id: number;
    type: string;
    title: string;
    gridPos: { x: number; y: number; w: number; h: number };
    datasource?: { type: string; uid: string };
    targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  }[];
}

export async function loadDashboards(): Promise<{ file: string; dashboard: Dashboard }[]> {
  const files = (await readdir(DASHBOARD_DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({ file, dashboard: JSON.parse(await readFile(path.join(DASHBOARD_DIR, file), 'utf8')) as Dashboard })),
  );
}

export function panelTargets(dashboards: { dashboard: Dashboard }[]): PanelTarget[] {
  return dashboards.flatMap(({ dashboard }) =>
    dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ dashboard: dashboard.title, panel: p.title, type: p.type, refId: t.refId, expr: t.expr })),
    ),
  );
}

/** Grafana's variables as a dashboard would send them: `$__rate_interval`, `$__range`, and the template variables. */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (match, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${match} in ${expr}`);
    return value;
  });
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
}

export async function loadRules(): Promise<{ file: string; rule: AlertRule }[]> {
  const dir = RULES_DIR;
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const out: { file: string; rule: AlertRule }[] = [];
  for (const file of files) {
    const doc = parseYaml(await readFile(path.join(dir, file), 'utf8')) as { groups: { rules: AlertRule[] }[] };
    for (const group of doc.groups) for (const rule of group.rules) out.push({ file, rule });
  }
  return out;
}

/** A sample value that says something: not NaN nor infinite. */
export const finite = (r: QueryResult) => r.series.some((s) => Number.isFinite(Number(s.value[1])));
