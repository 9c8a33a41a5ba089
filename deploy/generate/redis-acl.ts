import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { envName } from './broker-definitions';

/** The Redis user of a service (`warren-order`), and the variable holding its password (`REDIS_ORDER_PASSWORD`). */
export const redisUser = (name: string): string => `warren-${name}`;
export const redisPasswordEnv = (name: string): string => `REDIS_${envName(name)}_PASSWORD`;
/** The operator's user: Redis' `default`, with every right (redis-cli, healthchecks, migrations). */
export const REDIS_ADMIN = { name: 'default', password_env: 'REDIS_PASSWORD' } as const;

/**
 * The commands a service's user may run: those the stores and claims use (commands inside a function are checked
 * too), plus what the client itself sends. Everything else is refused: FLUSHALL, CONFIG, KEYS, SCAN (which would
 * list other services' key names), DEBUG... and Lua of the user's own: no EVAL, EVALSHA or SCRIPT, whose script
 * can loop for ever and answer every other client BUSY (SCRIPT KILL is an operator's command), and no FUNCTION.
 * The effects are Redis functions the operator loads (shared/redis/script.ts); a service may only call them, and
 * each one's work is bounded by the keys and arguments of its call, which the ACL checks like any command's.
 * - `info`: ioredis' ready check (INFO) waits out a Redis still loading its data and, under Sentinel, refuses a
 *   node that is no longer the master; it shows server counters and versions, no key or value.
 * - not `select`: the users run on database 0 (REDIS_KEY_PREFIX separates fleets); key patterns hold in every
 *   database, so SELECT would only let a service write its keys where no other service looks.
 * - not `role`: nothing sends it, and it names the replicas.
 */
export const REDIS_SERVICE_COMMANDS = [
  'ping',
  'info',
  'wait',
  'fcall',
  'fcall_ro',
  'get',
  'set',
  'del',
  'exists',
  'type',
  'incr',
  'pexpire',
  'pttl',
  'hget',
  'hset',
  'hmget',
  'hgetall',
  'hincrby',
  'hdel',
  'zadd',
  'zrem',
  'zcard',
  'zscore',
  'zrangebyscore',
] as const;

/**
 * Keys the runtime writes for every service, beside its stores: idempotency claims (shared/idempotency/claims.ts),
 * one scope per queue it consumes, and /readyz's write probe (shared/lifecycle/runtime.ts, `<service>:_ready`).
 */
const runtimePatterns = (service: ServiceDeclaration): string[] => [
  ...service.consumes.map((q) => `idem:${q.name}:*`),
  `${service.name}:_ready`,
];

/**
 * deploy/redis/acl.template.json: one Redis user per service, allowed its declared key patterns (after
 * REDIS_KEY_PREFIX) and {@link REDIS_SERVICE_COMMANDS} only. deploy/redis/render-acl.mjs turns it into an ACL file
 * with the passwords (compose's one-shot, or an operator for a Redis of their own).
 */
export function redisAclTemplate(services: readonly ServiceDeclaration[]): object {
  return {
    $comment: 'Generated from workers/registry.ts by `npm run deploy:generate`; do not edit. Render: deploy/redis/render-acl.mjs.',
    admin: REDIS_ADMIN,
    commands: REDIS_SERVICE_COMMANDS,
    users: services.map((s) => ({
      name: redisUser(s.name),
      password_env: redisPasswordEnv(s.name),
      keys: [...new Set([...(s.redisKeys ?? []), ...runtimePatterns(s)])],
    })),
  };
}
