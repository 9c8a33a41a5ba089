import { Redis } from 'ioredis';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from '../../helpers/broker';
import { deleteKeys } from '../../helpers/fleet';

/** A vhost and a Redis key prefix of one benchmark's own; `close()` deletes both. */
export interface BenchScope {
  vhost: string;
  url: string;
  redisUrl: string;
  prefix: string;
  close(): Promise<void>;
}

const open = new Set<BenchScope>();

export async function openScope(name: string): Promise<BenchScope> {
  const { vhost, url } = await withBrokerUp(() => createVhost(`warren-bench-${name}`));
  const prefix = `${uniqueName(`bench-${name}`)}:`;
  const scope: BenchScope = {
    vhost,
    url,
    redisUrl: REDIS_URL,
    prefix,
    async close() {
      open.delete(scope);
      const redis = new Redis(REDIS_URL);
      try {
        await deleteKeys(redis, prefix);
      } finally {
        redis.disconnect();
      }
      await deleteVhost(vhost);
    },
  };
  open.add(scope);
  return scope;
}

/** On an interrupted run: every scope still open is deleted. */
export async function closeAllScopes(): Promise<void> {
  await Promise.all([...open].map((s) => s.close().catch(() => undefined)));
}

/** Others share this broker, and chaos suites restart it: a failing rabbitmqctl is retried for up to a minute. */
async function withBrokerUp<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
