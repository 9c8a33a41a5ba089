/**
 * The launcher's one decision per service: use what answers at its URL, start a container where nothing answers on
 * this machine, and hand back the environment the command needs plus a way to remove what was started.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { localTarget } from './local-target';
import { RABBITMQ, REDIS } from './service-specs';
import { startContainer } from './stand-in-container';
import { answers } from './tcp-probes';

const run = promisify(execFile);

export interface LocalServices {
  /** What the command needs on top of its environment: both URLs, and how to reach a container broker's rabbitmqctl. */
  env: Record<string, string>;
  /** Removes every container started here (idempotent). */
  stop(): Promise<void>;
  /** The same, synchronously: for process 'exit', where nothing asynchronous runs any more. */
  stopSync(): void;
}

/**
 * Makes sure AMQP_URL and REDIS_URL of `env` answer, starting a container for each local one that does not.
 * Prints one line per container started to `log`. `signal` aborts a start-up in progress (Ctrl-C while RabbitMQ boots).
 */
export async function ensureLocalServices(
  env: NodeJS.ProcessEnv,
  options: { log?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<LocalServices> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  /** Names of the containers started here, to remove. */
  const started: string[] = [];
  const result: LocalServices = {
    env: {},
    stop: async () => {
      const names = started.splice(0);
      if (names.length > 0) await run('docker', ['rm', '-f', ...names], { timeout: 60_000 }).catch(() => undefined);
    },
    stopSync: () => {
      const names = started.splice(0);
      if (names.length > 0) spawnSync('docker', ['rm', '-f', ...names], { stdio: 'ignore', timeout: 60_000 });
    },
  };
  // Under Sentinel, REDIS_URL's host is not where Redis is: nothing to probe.
  const specs = env['REDIS_SENTINELS']?.trim() ? [RABBITMQ] : [RABBITMQ, REDIS];
  try {
    await Promise.all(
      specs.map(async (spec) => {
        const url = env[spec.envVar]?.trim() || spec.defaultUrl;
        result.env[spec.envVar] = url;
        const target = localTarget(spec, url);
        if (!target || (await answers(target.host, target.port))) return;
        const name = await startContainer(spec, target, started, log, options.signal);
        // The suites make a vhost each through rabbitmqctl (test/helpers/broker.ts); the fleet ignores it.
        if (spec.kind === 'rabbitmq') result.env['WARREN_TEST_RABBITMQCTL'] = `docker exec ${name} rabbitmqctl`;
      }),
    );
  } catch (error) {
    await result.stop();
    throw error;
  }
  return result;
}
