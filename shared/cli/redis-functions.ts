import { Redis, type RedisOptions } from 'ioredis';
import { EXIT, loadToolConfig, type CliIo } from './tool';
import { REPLICA_ACK_TIMEOUT_MS, sentinelOptions, type RedisTarget } from '../redis/client';
import { requireReplicaAck } from '../redis/replica-ack';
import { loadLibraries, missingLibraries, type RedisLibrary } from '../redis/script';

const USAGE = 'usage: redis-functions status | load | prune';

/** What the entry point (workers/redis-functions.ts) knows: where Redis is, as the operator, and the fleet's libraries. */
export interface RedisFunctionsCliContext {
  target: RedisTarget;
  libraries: readonly RedisLibrary[];
}

/**
 * `redis-functions status | load | prune`, as the operator (REDIS_URL naming a user that may run FUNCTION, such as
 * `default`): `load` loads the fleet's libraries Redis lacks (what compose's one-shot and the chart's hook run, and
 * what an operator runs after a Redis lost its data); `status` lists them and any other release's; `prune` deletes
 * Warren libraries this release does not use, once no pod of an older release runs. Resolves to the exit code.
 */
export async function runRedisFunctionsCli(argv: readonly string[], load: () => RedisFunctionsCliContext, io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if ((command !== 'status' && command !== 'load' && command !== 'prune') || rest.length > 0) {
    io.err(`${USAGE}\n`);
    return EXIT.usage;
  }
  const loaded = loadToolConfig(load, io);
  if ('exit' in loaded) return loaded.exit;
  const context = loaded.config;
  const redis = connect(context.target);
  try {
    const wanted = context.libraries;
    if (command === 'load') {
      const loaded = await loadLibraries(redis, await missingLibraries(redis, wanted));
      for (const library of wanted) io.out(`${loaded.includes(library.name) ? 'loaded' : 'present'} ${library.name}\n`);
      return EXIT.ok;
    }
    const names = new Set(wanted.map((l) => l.name));
    const others = (await warrenLibraries(redis)).filter((name) => !names.has(name));
    if (command === 'status') {
      const missing = new Set((await missingLibraries(redis, wanted)).map((l) => l.name));
      for (const library of wanted) io.out(`${missing.has(library.name) ? 'missing' : 'present'} ${library.name}\n`);
      for (const name of others) io.out(`other release ${name}\n`);
      return missing.size === 0 ? EXIT.ok : EXIT.failed;
    }
    for (const name of others) {
      await redis.call('FUNCTION', 'DELETE', name);
      io.out(`deleted ${name}\n`);
    }
    if (others.length === 0) io.out('nothing to prune\n');
    return EXIT.ok;
  } catch (error) {
    io.err(`redis-functions: ${(error as Error).message.split('\n')[0]}\n`);
    return EXIT.failed;
  } finally {
    redis.disconnect();
  }
}

/** The names of the Warren libraries Redis holds (`warren_<module>_<hash>`, shared/redis/script.ts). */
async function warrenLibraries(redis: Redis): Promise<string[]> {
  const list = (await redis.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'warren_*')) as unknown[][];
  // RESP2: each library is a flat [key, value, ...] array; the glob matches more than Warren's names, so filter.
  return list
    .map((entry) => String(entry[entry.indexOf('library_name') + 1]))
    .filter((name) => /^warren_[a-z0-9]+_[0-9a-f]{16}$/.test(name));
}

/** One connection that gives up at once instead of retrying: a tool answers, it does not wait for Redis. */
function connect({ redisUrl, redisSentinel, redisTls }: RedisTarget): Redis {
  const common: RedisOptions = { maxRetriesPerRequest: 0, connectTimeout: 5000, commandTimeout: 10_000, retryStrategy: () => null };
  const redis = redisSentinel
    ? new Redis({ ...common, ...sentinelOptions(redisUrl, redisSentinel, redisTls) })
    : new Redis(redisUrl, { ...common, ...(redisUrl.startsWith('rediss:') ? { tls: { ...redisTls } } : {}) });
  // Under Sentinel, `load` returns once a replica holds the libraries, so a failover right after keeps them.
  if (redisSentinel) requireReplicaAck(redis, { replicas: 1, timeoutMs: REPLICA_ACK_TIMEOUT_MS });
  redis.on('error', () => undefined); // every failure reaches the command that needed the connection
  return redis;
}
