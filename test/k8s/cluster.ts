import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = path.resolve(__dirname, '../..');
/** Where test/k8s/local-cluster.sh keeps the local cluster: binaries and certificates stay cached between runs. */
export const LOCAL_K = '/var/tmp/warren-k8s';
const LOCAL_CLUSTER = path.join(__dirname, 'local-cluster.sh');

/** The cluster a run uses: KUBECONFIG's as it is, or the local one. */
export interface Cluster {
  kubeconfig: string;
  /** The kubectl binary: the local cluster's own, else the one on PATH. */
  kubectl: string;
  /** The local one-node cluster of ../shared/k8s (images are imported into it); false for KUBECONFIG's. */
  local: boolean;
  /** This run started it, so this run stops it. */
  started: boolean;
}

/** Runs a command; throws with its own words (stderr, else stdout) on failure. */
export async function exec(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<string> {
  const { env = process.env, timeoutMs = 120_000, cwd = REPO, input } = options;
  if (input !== undefined) return execWithInput(file, args, { env, timeoutMs, cwd, input });
  try {
    const { stdout } = await run(file, args, { env, cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    // Both streams: a docker build says what failed on stdout, and only that it failed on stderr.
    const said = [e.stdout?.slice(-3000), e.stderr?.slice(-3000)].filter(Boolean).join('\n') || e.message;
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed: ${said}`, { cause: error });
  }
}

function execWithInput(
  file: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd: string; input: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (exit ${code}): ${(stderr || stdout).slice(-4000)}`));
    });
    child.stdin.end(options.input);
  });
}

/**
 * KUBECONFIG's cluster when it is set (a kind, k3d or real one: used as it is, nothing imported), else the local
 * one-node cluster of ../shared/k8s, started unless it already runs under LOCAL_K.
 */
export async function getCluster(): Promise<Cluster> {
  const kubeconfig = process.env['KUBECONFIG'];
  if (kubeconfig) return { kubeconfig, kubectl: 'kubectl', local: false, started: false };
  const said = (await exec('bash', [LOCAL_CLUSTER, 'up'], { timeoutMs: 600_000 })).trim().split('\n').pop();
  return {
    kubeconfig: path.join(LOCAL_K, 'etc/admin.kubeconfig'),
    kubectl: path.join(LOCAL_K, 'root/usr/bin/kubectl'),
    local: true,
    started: said === 'started',
  };
}

/** Stops the local cluster if this run started it (its state goes; the cached binaries stay). */
export async function releaseCluster(cluster: Cluster): Promise<void> {
  if (cluster.started) await exec('bash', [LOCAL_CLUSTER, 'down'], { timeoutMs: 300_000 });
}

/** Docker images into the local cluster's node (it reaches no registry). */
export async function importImages(images: readonly string[]): Promise<void> {
  await exec('bash', [LOCAL_CLUSTER, 'images', ...images], { timeoutMs: 600_000 });
}

/** The absolute path of a command on PATH (for a bin directory of symlinks). */
export async function which(command: string): Promise<string> {
  if (path.isAbsolute(command)) {
    if (!existsSync(command)) throw new Error(`${command} does not exist`);
    return command;
  }
  return (await exec('bash', ['-c', `command -v ${command}`]).catch(() => '')).trim() || fail(`${command} is not on PATH`);
}

const fail = (message: string): never => {
  throw new Error(message);
};

/** kubectl (and helm) against one cluster and namespace. */
export class Kube {
  constructor(
    readonly cluster: Cluster,
    readonly namespace: string,
    readonly helmBinary: string,
  ) {}

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.cluster.kubeconfig };
  }

  kubectl(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    return exec(this.cluster.kubectl, ['-n', this.namespace, ...args], { ...options, env: this.env });
  }

  async json(args: readonly string[]): Promise<any> {
    return JSON.parse(await this.kubectl([...args, '-o', 'json']));
  }

  helm(args: readonly string[], timeoutMs = 300_000): Promise<string> {
    return exec(this.helmBinary, [...args, '-n', this.namespace], { env: this.env, timeoutMs });
  }

  /** Pods matching a label selector, with whether each is Ready (and not on its way out). */
  async pods(selector: string): Promise<{ name: string; component: string; ready: boolean; terminating: boolean; restarts: number }[]> {
    const list = await this.json(['get', 'pods', '-l', selector]);
    return (list.items as any[]).map((p) => ({
      name: p.metadata.name,
      component: p.metadata.labels?.['app.kubernetes.io/component'] ?? '',
      terminating: Boolean(p.metadata.deletionTimestamp),
      restarts: ((p.status.containerStatuses ?? []) as any[]).reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
      ready: !p.metadata.deletionTimestamp && ((p.status.conditions ?? []) as any[]).some((c) => c.type === 'Ready' && c.status === 'True'),
    }));
  }

  /** A Secret's key, decoded. */
  async secretValue(name: string, key: string): Promise<string> {
    const secret = await this.json(['get', 'secret', name]);
    const value = secret.data?.[key];
    if (value === undefined) throw new Error(`Secret ${name} has no key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  }

  /** What a failure report needs: pods, warning events, and the last log lines of every pod. */
  async diagnostics(): Promise<string> {
    const parts: string[] = [];
    const safely = async (label: string, args: string[], lines = 40) => {
      const out = await this.kubectl(args, { timeoutMs: 30_000 }).catch((e: Error) => e.message);
      parts.push(`--- ${label}\n${out.trimEnd().split('\n').slice(-lines).join('\n')}`);
    };
    await safely('pods', ['get', 'pods', '-o', 'wide']);
    await safely('warning events', ['get', 'events', '--field-selector=type=Warning', '--sort-by=.lastTimestamp']);
    for (const pod of await this.pods('app.kubernetes.io/part-of').catch(() => []))
      await safely(`logs ${pod.name}`, ['logs', pod.name, '--all-containers'], 15);
    return parts.join('\n');
  }
}
