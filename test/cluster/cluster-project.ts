import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dockerCompose, publishedUrl, REAL_IMAGES, writeEnvFile } from '../docker/compose-project';
import { freePort } from '../helpers/ports';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const COMPOSE_FILE = 'deploy/cluster/docker-compose.cluster.yml';
export const RABBITMQ_NODES = ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'] as const;
export const REDIS_NODES = ['redis-1', 'redis-2', 'redis-3'] as const;
export const STANDIN_IMAGES = ['warren-standin/node:24', 'warren-standin/rabbitmq:4.0', 'warren-standin/redis:8.0.6'];

/** `docker <args>`; throws with docker's own words. */
export async function docker(args: readonly string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run('docker', [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${(e.stderr || e.message).slice(-2000)}`, { cause: error });
  }
}

/**
 * deploy/cluster/docker-compose.cluster.yml as a user runs it, under a project name (`warren-test-cluster-*`), env
 * file and image tag of the test's own, the API on a free 127.0.0.1 port and the workers' ops ports on ephemeral
 * 127.0.0.1 ports; `destroy` removes its containers, network, volumes and image.
 */
export class ClusterProject {
  private constructor(
    readonly name: string,
    readonly apiPort: number,
    private readonly dir: string,
    private readonly files: readonly string[],
  ) {}

  static async create(): Promise<ClusterProject> {
    const apiPort = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'warren-cluster-'));
    const secret = (who: string) => `${who}-${randomBytes(9).toString('base64url')}`;
    const name = `warren-test-cluster-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const env = {
      WARREN_IMAGE: `warren-test:${name}`,
      HOST_BIND: '127.0.0.1',
      ORDER_HOST_PORT: apiPort,
      RABBITMQ_MANAGEMENT_HOST_PORT: await freePort(),
      RABBITMQ_ORDER_PASSWORD: secret('order'),
      RABBITMQ_INVENTORY_PASSWORD: secret('inventory'),
      RABBITMQ_PAYMENT_PASSWORD: secret('payment'),
      RABBITMQ_ADMIN_PASSWORD: secret('admin'),
      RABBITMQ_ERLANG_COOKIE: secret('cookie'),
      REDIS_PASSWORD: secret('redis'),
      // Short tiers: a handler that failed while a node or the Redis master was away comes back in seconds.
      RETRY_DELAYS_MS: '500,2000,5000',
      ...(REAL_IMAGES ? {} : { NODE_IMAGE: 'warren-standin/node:24' }),
    };
    writeEnvFile(dir, env);
    const files = [COMPOSE_FILE, 'test/cluster/compose.test-ports.yml', ...(REAL_IMAGES ? [] : ['test/cluster/compose.standins.yml'])];
    return new ClusterProject(name, apiPort, dir, files);
  }

  get api(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  /** The compose network every container of the project is on. */
  get network(): string {
    return `${this.name}_default`;
  }

  /** A service's (first) container: compose names them `<project>-<service>-1`. */
  container(service: string): string {
    return `${this.name}-${service}-1`;
  }

  async compose(args: readonly string[], timeoutMs = 300_000): Promise<string> {
    // The project directory is the compose file's own, so its relative mounts resolve as they do for a user.
    const project = ['--project-name', this.name, '--env-file', path.join(this.dir, '.env')];
    return dockerCompose([...project, ...this.files.flatMap((file) => ['-f', path.join(REPO, file)])], args, timeoutMs);
  }

  /** The 127.0.0.1 URL of a container port published on an ephemeral host port. */
  async url(service: string, port: number): Promise<string> {
    return publishedUrl(service, port, await this.compose(['port', service, String(port)]));
  }

  /** `rabbitmqctl` (or another CLI) on a node. */
  rabbit(node: string, ...args: string[]): Promise<string> {
    return docker(['exec', this.container(node), ...args], 60_000);
  }

  async health(service: string): Promise<string> {
    return (
      await docker(['inspect', '-f', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', this.container(service)])
    ).trim();
  }

  async logs(service: string, lines = 20): Promise<string> {
    return docker(['logs', '--tail', String(lines), this.container(service)]).catch((e: Error) => e.message);
  }

  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const names = async (...args: string[]) =>
      (await docker([...args, '--filter', label, '--format', '{{.Name}}'])).split('\n').filter(Boolean);
    const containers = (await docker(['ps', '-a', '--filter', label, '--format', '{{.Names}}'])).split('\n').filter(Boolean);
    return [...containers, ...(await names('network', 'ls')), ...(await names('volume', 'ls'))];
  }

  async destroy(): Promise<void> {
    await this.compose(['down', '--volumes', '--remove-orphans', '--timeout', '20']).catch(() => undefined);
    await docker(['image', 'rm', `warren-test:${this.name}`]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
