import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The broker the tests use; its vhost part is replaced by a fresh vhost per suite. */
export const BASE_AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}

/** Creates a vhost for one suite (guest gets full rights on it) and returns its AMQP URL. */
export async function createVhost(prefix = 'warren-test'): Promise<{ vhost: string; url: string }> {
  const vhost = uniqueName(prefix);
  await rabbitmqctl('add_vhost', vhost);
  await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  const url = new URL(BASE_AMQP_URL);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return { vhost, url: url.toString() };
}

export async function deleteVhost(vhost: string): Promise<void> {
  await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
}
