import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports';

const run = promisify(execFile);
export const REPO = path.resolve(__dirname, '../..');

/** Real images (a machine with a registry) or the Debian stand-ins of test/docker/standin-images.sh. */
export const REAL_IMAGES = process.env['WARREN_COMPOSE_REAL_IMAGES'] === '1';
const STANDIN_NODE_IMAGE = 'warren-standin/node:24';
/** The image docker-compose.yml gives Grafana: started where it exists (or a registry can provide it). */
export const GRAFANA_IMAGE = 'grafana/grafana:13.2.3';

export interface HostPorts {
  api: number;
  prometheus: number;
  management: number;
  grafana: number;
}

/**
 * One `docker compose` project of the repo's docker-compose.yml, as a user runs it, under a project name and env
 * file of the test's own: its containers, network and volumes carry that name, so the test removes exactly what it
 * made. Host ports are free 127.0.0.1 ports; the passwords are fresh, as a user's .env would have.
 */
export class ComposeProject {
  private constructor(
    readonly name: string,
    readonly ports: HostPorts,
    private readonly dir: string,
    private readonly files: readonly string[],
    /** Whether Grafana runs in this project (its image exists, or real images are pulled from a registry). */
    readonly grafana: boolean,
  ) {}

  static async create(): Promise<ComposeProject> {
    const ports = { api: await freePort(), prometheus: await freePort(), management: await freePort(), grafana: await freePort() };
    const dir = mkdtempSync(path.join(tmpdir(), 'warren-compose-'));
    const secret = (who: string) => `${who}-${randomBytes(9).toString('base64url')}`;
    const name = `warren-test-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const env = {
      // An image tag of the project's own: a user's warren:local, or a concurrent run's image, is never replaced.
      WARREN_IMAGE: `warren-test:${name}`,
      HOST_BIND: '127.0.0.1',
      ORDER_HOST_PORT: ports.api,
      PROMETHEUS_HOST_PORT: ports.prometheus,
      RABBITMQ_MANAGEMENT_HOST_PORT: ports.management,
      GRAFANA_HOST_PORT: ports.grafana,
      RABBITMQ_ORDER_PASSWORD: secret('order'),
      RABBITMQ_INVENTORY_PASSWORD: secret('inventory'),
      RABBITMQ_PAYMENT_PASSWORD: secret('payment'),
      RABBITMQ_ADMIN_PASSWORD: secret('admin'),
      REDIS_PASSWORD: secret('redis'),
      GRAFANA_ADMIN_PASSWORD: secret('grafana'),
      ...(REAL_IMAGES ? {} : { NODE_IMAGE: STANDIN_NODE_IMAGE }),
    };
    writeEnvFile(dir, env);
    const grafana = REAL_IMAGES || (await imageExists(GRAFANA_IMAGE));
    const files = [
      'docker-compose.yml',
      'test/docker/compose.test-ports.yml',
      ...(REAL_IMAGES ? [] : ['test/docker/compose.standins.yml']),
      ...(grafana ? [] : ['test/docker/compose.no-grafana.yml']),
    ];

    return new ComposeProject(name, ports, dir, files, grafana);
  }

  /** `docker compose <args>` for this project; throws with compose's own words on failure. */
  async compose(args: readonly string[], timeoutMs = 300_000): Promise<string> {
    const project = ['--project-name', this.name, '--project-directory', REPO, '--env-file', path.join(this.dir, '.env')];
    return dockerCompose([...project, ...this.files.flatMap((file) => ['-f', path.join(REPO, file)])], args, timeoutMs);
  }

  /** The 127.0.0.1 URL of a container port published on an ephemeral host port (replica `index`, from 1). */
  async url(service: string, port: number, index = 1): Promise<string> {
    return publishedUrl(service, port, await this.compose(['port', '--index', String(index), service, String(port)]));
  }

  /** Containers of one service (or all), with state, health and exit code. */
  async containers(service?: string): Promise<{ name: string; service: string; state: string; health: string; exitCode: number }[]> {
    const out = await this.compose(['ps', '--all', '--format', 'json', ...(service ? [service] : [])]);
    // Compose 2.21+ prints one JSON object per line; older v2 releases print one array.
    const rows = out.trim().startsWith('[')
      ? (JSON.parse(out) as any[])
      : out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l));
    return rows.map((r) => ({ name: r.Name, service: r.Service, state: r.State, health: r.Health ?? '', exitCode: r.ExitCode ?? 0 }));
  }

  async logs(service: string): Promise<string> {
    return this.compose(['logs', '--no-color', service]);
  }

  /** Whatever of this project is left on the engine (containers, networks, volumes). */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const list = async (...args: string[]) =>
      (await run('docker', [...args, '--filter', label, '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean);
    const names = async (...args: string[]) =>
      (await run('docker', [...args, '--filter', label, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    return [...(await names('ps', '-a')), ...(await list('network', 'ls')), ...(await list('volume', 'ls'))];
  }

  /** Removes the project's containers, network, volumes and image, and the env file. */
  async destroy(): Promise<void> {
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '20']).catch(() => undefined);
    await run('docker', ['image', 'rm', `warren-test:${this.name}`]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `docker compose <project options> <args>` with the classic builder; throws with compose's own words on failure. */
/** The project's `.env`: what `docker compose --env-file` reads, one `KEY=value` per line. */
export function writeEnvFile(dir: string, env: Record<string, string | number>): void {
  writeFileSync(
    path.join(dir, '.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
}

export async function dockerCompose(project: readonly string[], args: readonly string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout, stderr } = await run('docker', ['compose', ...project, ...args], {
      cwd: REPO,
      // The classic builder: BuildKit would fetch its frontend from a registry.
      env: { ...process.env, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
    });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`docker compose ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).slice(-4000)}`, { cause: error });
  }
}

/** The 127.0.0.1 URL `docker compose port` printed for a container port published on an ephemeral host port. */
export function publishedUrl(service: string, port: number, portOutput: string): string {
  const out = portOutput.trim();
  const hostPort = out.split(':').pop();
  if (!hostPort || !/^\d+$/.test(hostPort)) throw new Error(`${service}:${port} is not published (got ${JSON.stringify(out)})`);
  return `http://127.0.0.1:${hostPort}`;
}

/** Fails early, saying what to do, when no Docker engine or no compose v2 answers. */
export async function requireDocker(): Promise<string> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 });
  } catch {
    throw new Error('no Docker engine answers (`docker info`): install one (Debian: apt-get install docker.io; then dockerd &)');
  }
  try {
    return (await run('docker', ['compose', 'version', '--short'], { timeout: 20_000 })).stdout.trim();
  } catch {
    throw new Error('`docker compose` (v2) is missing: test/docker/standin-images.sh compose installs it as a CLI plugin');
  }
}

const imageExists = (image: string): Promise<boolean> =>
  run('docker', ['image', 'inspect', image]).then(
    () => true,
    () => false,
  );

/** The stand-in images that are not on the engine yet (test/docker/standin-images.sh builds them). */
export async function missingImages(): Promise<string[]> {
  const wanted = REAL_IMAGES
    ? []
    : [STANDIN_NODE_IMAGE, 'warren-standin/rabbitmq:4.3', 'warren-standin/redis:8.0.6', 'warren-standin/prometheus:3.5'];
  const missing: string[] = [];
  for (const image of wanted) if (!(await imageExists(image))) missing.push(image);
  return missing;
}
