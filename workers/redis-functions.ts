import { exitWith } from '../shared/cli/tool';
import type { CliIo } from '../shared/cli/tool';
import { CLAIM_FUNCTIONS } from '../shared/idempotency/claims';
import { runRedisFunctionsCli, type RedisFunctionsCliContext } from '../shared/cli/redis-functions';
import type { RedisLibrary } from '../shared/redis/script';
import { STOCK_FUNCTIONS } from './inventory/store/stock-store';
import { ORDER_FUNCTIONS } from './order/store/order-functions';
import { GATEWAY_FUNCTIONS } from './payment/gateway/simulated-gateway';
import { LEDGER_FUNCTIONS } from './payment/store/ledger';
import { loadFleetConfig } from './registry';

/**
 * Every Redis library the fleet calls, named one by one rather than gathered from whatever happens to be imported,
 * so the operator loads the same set whatever this file imports (test/unit/redis-functions.spec.ts checks it
 * against what the services define).
 */
export const FLEET_LIBRARIES: readonly RedisLibrary[] = [
  CLAIM_FUNCTIONS,
  ORDER_FUNCTIONS,
  STOCK_FUNCTIONS,
  LEDGER_FUNCTIONS,
  GATEWAY_FUNCTIONS,
];

/** Where Redis is, from the operator's REDIS_URL (REDIS_SENTINELS, REDIS_TLS_* as for the services). */
export function fleetRedisFunctions(env: Record<string, string | undefined>): RedisFunctionsCliContext {
  // Only Redis' variables are read: the tool serves nothing, so the API's settings (AUTH_MODE and what it needs,
  // PRICE_LIST), required in production, do not concern it; NODE_ENV still refuses a published Redis password.
  const redisOnly = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('REDIS_') || name === 'NODE_ENV'));
  const config = loadFleetConfig({ ...redisOnly, AUTH_MODE: 'off', PRICE_LIST: 'off' });
  return {
    target: {
      redisUrl: config.redisUrl,
      ...(config.redisSentinel ? { redisSentinel: config.redisSentinel } : {}),
      ...(config.redisTls ? { redisTls: config.redisTls } : {}),
    },
    libraries: FLEET_LIBRARIES,
  };
}

/** `npm run redis-functions -- status | load | prune` with the operator's REDIS_URL. */
export function runFleetRedisFunctionsCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runRedisFunctionsCli(argv, () => fleetRedisFunctions(io.env), io);
}

function processIo(): CliIo {
  return { env: process.env, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
}

if (require.main === module) exitWith('redis-functions', runFleetRedisFunctionsCli(process.argv.slice(2)));
