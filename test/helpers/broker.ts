import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The broker the tests use; its vhost part is replaced by a fresh vhost per suite. */
export const BASE_AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A broker the helpers talk to: its AMQP URL and the command line that runs rabbitmqctl against it. */
export interface BrokerTarget {
  amqpUrl: string;
  /** e.g. `['rabbitmqctl']` or `['docker', 'exec', 'warren-test-rabbitmq-x', 'rabbitmqctl']`. */
  rabbitmqctl: readonly string[];
}

/**
 * The broker of AMQP_URL. `WARREN_TEST_RABBITMQCTL` says how to reach its rabbitmqctl, e.g.
 * `docker exec warren-test-rabbitmq-x rabbitmqctl` for one in a container (split on spaces; no shell involved).
 * @defaultValue plain `rabbitmqctl`, the local broker's
 */
export const ENV_BROKER: BrokerTarget = {
  amqpUrl: BASE_AMQP_URL,
  rabbitmqctl: (process.env['WARREN_TEST_RABBITMQCTL'] ?? 'rabbitmqctl').trim().split(/\s+/),
};

let current: BrokerTarget = ENV_BROKER;

/**
 * Points `createVhost`, `deleteVhost` and `rabbitmqctl` (and so every fleet helper) at another broker until the
 * returned function is called. Mocha runs suites one after another, so a suite may switch in `before` and switch
 * back in `after`: how a test that restarts a broker of its own keeps every call away from the shared one.
 */
export function useBroker(target: BrokerTarget): () => void {
  const previous = current;
  current = target;
  return () => {
    current = previous;
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const [command, ...prefix] = current.rabbitmqctl;
  const { stdout } = await run(command!, [...prefix, '-q', ...args], { timeout: 60_000 });
  return stdout;
}

/** Creates a vhost for one suite (guest gets full rights on it) and returns its AMQP URL. */
export async function createVhost(prefix = 'warren-test'): Promise<{ vhost: string; url: string }> {
  const vhost = uniqueName(prefix);
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const url = new URL(current.amqpUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return { vhost, url: url.toString() };
}

/**
 * Adds a broker user of the test's own with every right on `vhost`, and returns the AMQP URL that logs in as it:
 * a test that changes the user's permissions or password touches nothing else. Delete it with `delete_user`.
 */
export async function addVhostUser(vhost: string, user: string, password: string): Promise<string> {
  await rabbitmqctl('add_user', user, password);
  await rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  const url = new URL(current.amqpUrl);
  url.username = user;
  url.password = password;
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}

export async function deleteVhost(vhost: string): Promise<void> {
  await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
}
