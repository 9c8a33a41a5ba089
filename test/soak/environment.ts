import { execFileSync } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { Inspector } from '../bench/lib/inspect';
import { useBroker } from '../helpers/broker';
import { OwnBroker } from '../helpers/own-broker';
import { OwnRedis } from '../helpers/own-redis';
import { ProcessFleet } from '../helpers/process-fleet';
import { freePort } from '../helpers/ports';
import { sleep } from '../helpers/wait';

/**
 * Production defaults where ProcessFleet shortens them for quick chaos tests: the soak runs what a deployment runs
 * (retry tiers, relay interval, publish timeout), with authentication and price checks off as in every test fleet.
 */
const PRODUCTION_TIMINGS = {
  RETRY_DELAYS_MS: '1000,5000,30000',
  OUTBOX_RELAY_INTERVAL_MS: '500',
  PUBLISH_TIMEOUT_MS: '10000',
  LOG_LEVEL: 'info',
};

/** How long a Redis that holds a long soak's orders may take to load its AOF after the "Redis away" fault. */
const REDIS_LOAD_TIMEOUT_MS = 180_000;

/**
 * Everything the soak runs against, all its own: RabbitMQ in a container it started (on a fixed loopback port,
 * so `docker restart` keeps the URL), a redis-server with AOF it can stop and start with its data, and the three
 * services as processes (ProcessFleet) pointed at those, each with an inspector on the loopback for full-GC
 * probes and its output in `<runDir>/<service>.log`. The host's broker (5672) and Redis (6379) are never touched.
 */
export class SoakEnvironment {
  private readonly inspectors = new Map<ServiceName, Promise<Inspector>>();
  private readonly logs = new Map<ServiceName, WriteStream>();
  /** When each process started (Date.now()), by pid. */
  private readonly spawnedAt = new Map<number, number>();
  private restoreBroker: (() => void) | undefined;
  fleet: ProcessFleet | undefined;

  private constructor(
    readonly broker: OwnBroker,
    readonly redis: OwnRedis,
    readonly runDir: string,
  ) {}

  /** Starts broker, Redis and fleet; whatever started is torn down again if a later step fails. */
  static async start(runDir: string): Promise<SoakEnvironment> {
    const broker = await OwnBroker.start(undefined, await freePort());
    let redis: OwnRedis | undefined;
    try {
      redis = await OwnRedis.start();
    } catch (error) {
      await broker.destroy();
      throw error;
    }
    const env = new SoakEnvironment(broker, redis, runDir);
    try {
      // Every vhost and rabbitmqctl call of the helpers goes to this broker from here on.
      env.restoreBroker = useBroker(broker);
      for (const name of SERVICE_NAMES) env.logs.set(name, createWriteStream(path.join(runDir, `${name}.log`), { flags: 'a' }));
      env.fleet = await ProcessFleet.start(
        { ...PRODUCTION_TIMINGS, REDIS_URL: redis.url },
        {
          // Port 0: the inspector takes a free loopback port and names it on stderr (test/bench/lib/inspect.ts).
          nodeArgs: ['--inspect=127.0.0.1:0'],
          onSpawn: (name, child) => {
            if (child.pid !== undefined) env.spawnedAt.set(child.pid, Date.now());
            const attached = Inspector.attach(child);
            attached.catch(() => undefined); // awaited by the probes, which report a failure
            env.inspectors.set(name, attached);
          },
          onOutput: (name, line) => env.logs.get(name)?.write(`${line}\n`),
        },
      );
      return env;
    } catch (error) {
      await env.stop();
      throw error;
    }
  }

  get api(): string {
    return this.fleet!.urls.api;
  }

  ops(name: ServiceName): string {
    return this.fleet!.urls.ops[name];
  }

  /** The vhost's AMQP URL, as the services use it. */
  get amqpUrl(): string {
    return this.fleet!.env['AMQP_URL']!;
  }

  /** The inspector of the service's current process (a restarted service has a new one). */
  inspector(name: ServiceName): Promise<Inspector> {
    return this.inspectors.get(name) ?? Promise.reject(new Error(`${name} has no inspector`));
  }

  /** When the process `pid` started (Date.now()), if it is one of the fleet's. */
  startedAt(pid: number): number | undefined {
    return this.spawnedAt.get(pid);
  }

  /** Writes a line into a service's log, so the log shows when the soak did something to it. */
  mark(name: ServiceName, text: string): void {
    this.logs.get(name)?.write(`--- soak ${new Date().toISOString()}: ${text}\n`);
  }

  /** Redis back after an outage, with however long its AOF takes to load. */
  async redisUp(): Promise<void> {
    await this.redis.up(REDIS_LOAD_TIMEOUT_MS);
  }

  /**
   * The last resort, for a soak process that exits without {@link stop} (an uncaught error): SIGKILL to the
   * services, the broker container removed, Redis shut down, all synchronously (an `exit` listener cannot wait).
   */
  stopSync(): void {
    for (const name of SERVICE_NAMES) {
      const pid = this.fleet?.pid(name);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
    const quiet = { stdio: 'ignore', timeout: 30_000 } as const;
    try {
      execFileSync('docker', ['rm', '-f', this.broker.container], quiet);
    } catch {
      // already gone
    }
    try {
      execFileSync('redis-cli', ['-p', String(this.redis.port), 'shutdown', 'nosave'], quiet);
    } catch {
      // already down
    }
  }

  /**
   * Stops the services (SIGTERM: they drain), then removes the broker container and Redis with their data.
   * ProcessFleet.stop() is not used: its key-by-key cleanup of Redis would take minutes after a long soak, and
   * the Redis is removed whole.
   */
  async stop(): Promise<void> {
    const fleet = this.fleet;
    // A service that does not drain within 20 s is killed: a stuck shutdown must not keep the container alive.
    if (fleet)
      await Promise.all(SERVICE_NAMES.map((name) => Promise.race([fleet.terminate(name), sleep(20_000).then(() => fleet.kill(name))])));
    await Promise.all([...this.logs.values()].map((log) => new Promise<void>((resolve) => log.end(resolve))));
    this.restoreBroker?.();
    await this.redis.destroy();
    await this.broker.destroy();
  }
}
