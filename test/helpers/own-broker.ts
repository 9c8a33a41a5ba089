import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import type { BrokerTarget } from './broker';
import { waitFor } from './wait';

const run = promisify(execFile);

/** The image a test's own broker runs; a machine with a registry may pass e.g. `rabbitmq:4.3.6-management-alpine`. */
export const RABBITMQ4_IMAGE = process.env['RABBITMQ4_IMAGE'] ?? 'warren-standin/rabbitmq:4.3';
/** Set by test/docker/rabbitmq-matrix.sh: the broker container that run owns, which a test may restart. */
export const BROKER_CONTAINER_ENV = 'WARREN_TEST_BROKER_CONTAINER';
/** Only containers with this prefix are ever restarted or removed: never the host's broker or anyone else's. */
const OWNED_PREFIX = 'warren-test-';

const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { timeout: 120_000 })).stdout.trim();

/**
 * A RabbitMQ in a container that the test run owns, so a test can restart it without disturbing the shared
 * broker (the counterpart of own-redis.ts). Either started here (and removed by `destroy()`), or the one the
 * matrix runner started and named in WARREN_TEST_BROKER_CONTAINER (left for the runner to remove).
 */
export class OwnBroker implements BrokerTarget {
  private constructor(
    readonly container: string,
    readonly amqpUrl: string,
    private readonly owned: boolean,
  ) {}

  get rabbitmqctl(): readonly string[] {
    return ['docker', 'exec', this.container, 'rabbitmqctl'];
  }

  /** The matrix runner's container when it named one, else a new container of this test's own. */
  static async acquire(): Promise<OwnBroker> {
    const named = process.env[BROKER_CONTAINER_ENV];
    return named ? OwnBroker.attach(named) : OwnBroker.start();
  }

  /**
   * `hostPort`: publish AMQP on that loopback port rather than one Docker picks, so the URL survives
   * {@link restartContainer} (Docker picks a new port at each start otherwise).
   */
  static async start(image = RABBITMQ4_IMAGE, hostPort?: number): Promise<OwnBroker> {
    const container = `${OWNED_PREFIX}rabbitmq-${randomBytes(4).toString('hex')}`;
    // Docker picks a free host port unless one is given, published on loopback only.
    await docker('run', '-d', '--name', container, '-p', `127.0.0.1:${hostPort ?? ''}:5672`, image);
    try {
      const broker = new OwnBroker(container, await amqpUrlOf(container), true);
      await broker.awaitUp();
      return broker;
    } catch (error) {
      await docker('rm', '-f', container).catch(() => undefined);
      throw error;
    }
  }

  static async attach(container: string): Promise<OwnBroker> {
    if (!container.startsWith(OWNED_PREFIX))
      throw new Error(`${BROKER_CONTAINER_ENV}=${container}: only ${OWNED_PREFIX}* containers may be restarted by tests`);
    const broker = new OwnBroker(container, await amqpUrlOf(container), false);
    await broker.awaitUp();
    return broker;
  }

  /** Stops the RabbitMQ application (connections drop, the Erlang node stays), waits, then starts it again. */
  async restartApp(downMs: number): Promise<void> {
    await this.ctl('stop_app');
    await new Promise((r) => setTimeout(r, downMs));
    await this.ctl('start_app');
    await this.awaitUp();
  }

  /**
   * `docker restart`: the whole node stops (SIGTERM, then SIGKILL after `stopTimeoutS`) and starts again with its
   * data; resolves once it answers AMQP. Only a container started here: the matrix runner's is not this test's to
   * bounce, and only a fixed host port (see {@link start}) keeps the URL valid across it.
   */
  async restartContainer(stopTimeoutS = 30): Promise<void> {
    if (!this.owned) throw new Error(`${this.container} was started by someone else: not restarting it`);
    await docker('restart', '-t', String(stopTimeoutS), this.container);
    await this.awaitUp();
  }

  async version(): Promise<string> {
    return this.ctl('version');
  }

  async destroy(): Promise<void> {
    if (this.owned) await docker('rm', '-f', this.container).catch(() => undefined);
  }

  /** Up means answering AMQP, not only a running node: a client connects and closes. */
  async awaitUp(timeoutMs = 180_000): Promise<void> {
    await waitFor(
      `RabbitMQ in ${this.container} answering AMQP`,
      async () => {
        const connection = await amqplib.connect(this.amqpUrl);
        await connection.close();
        return true;
      },
      timeoutMs,
      500,
    );
  }

  private async ctl(...args: string[]): Promise<string> {
    return docker('exec', this.container, 'rabbitmqctl', '-q', ...args);
  }
}

async function amqpUrlOf(container: string): Promise<string> {
  // `docker port` prints e.g. 127.0.0.1:49153 (and maybe an IPv6 line): take the IPv4 loopback one.
  const lines = (await docker('port', container, '5672/tcp')).split('\n');
  const port = lines.map((l) => /^127\.0\.0\.1:(\d+)$/.exec(l.trim())?.[1]).find(Boolean);
  if (!port) throw new Error(`${container} publishes 5672 on no 127.0.0.1 port: ${lines.join(', ')}`);
  return `amqp://guest:guest@127.0.0.1:${port}`;
}
