import type { ServiceDeclaration } from '../../shared/lifecycle/service';

/** The Redis user of a service (`warren-order`), and the variable holding its password (`REDIS_ORDER_PASSWORD`). */
export const redisUser = (name: string): string => `warren-${name}`;
export const redisPasswordEnv = (name: string): string => `REDIS_${name.toUpperCase().replace(/-/g, '_')}_PASSWORD`;
/** The operator's user: Redis' `default`, with every right (redis-cli, healthchecks, migrations). */
export const REDIS_ADMIN = { name: 'default', password_env: 'REDIS_PASSWORD' } as const;

/**
 * The commands a service's user may run: those the stores, claims and scripts use (commands inside a script are
 * checked too), plus what the client itself sends (the ready check's INFO, WAIT for a replica under Sentinel).
 * Everything else is refused: FLUSHALL, CONFIG, KEYS, SCAN (which would list other services' key names), DEBUG...
 */
export const REDIS_SERVICE_COMMANDS = [
  'ping',
  'info',
  'role',
  'select',
  'wait',
  'evalsha',
  'eval',
  'get',
  'set',
  'del',
  'exists',
  'type',
  'incr',
  'pexpire',
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
