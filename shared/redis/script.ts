import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { PermanentError, TransientError } from '../errors/errors';
import { awaitReplicaAck, needsReplicaAck } from './replica-ack';

/** A Redis key's type, as `TYPE` answers it. */
export type KeyType = 'string' | 'hash' | 'zset' | 'set' | 'list';

/** A function refused its call before any write: a key of the wrong type, or a stored value it cannot work on. */
export class StatePreconditionError extends PermanentError {
  override readonly name = 'StatePreconditionError';
  override readonly code = 'STATE_PRECONDITION';
}

/** What an operator runs to load Warren's Redis functions (workers/redis-functions.ts). */
export const LOAD_FUNCTIONS_STEP = 'npm run redis-functions -- load';

/**
 * Redis lacks a library this process calls, and this Redis user may not load it (service users never may):
 * transient, so deliveries wait in their delayed retries and the API answers 503 until the operator loads it.
 */
export class RedisFunctionsMissingError extends TransientError {
  override readonly name = 'RedisFunctionsMissingError';
  constructor(libraries: readonly string[], user: string) {
    super(
      `Redis functions not loaded (${libraries.join(', ')}) and Redis user ${user} may not load them (NOPERM): ` +
        `run \`${LOAD_FUNCTIONS_STEP}\` with the operator's REDIS_URL (compose: the redis-functions one-shot; ` +
        'Helm: the redis-functions hook); docs/operations.md',
    );
  }
}

/** The prefix of a precondition failure's reply; a function's own checks fail with it too (`precondition(...)`). */
const PRECONDITION = 'WARREN_PRECONDITION';

/**
 * Lua run before a function's own source: checks that every key that exists has its declared type, and defines
 * `precondition(ok, what)` for the function's own checks of stored values. Both end the call before its first
 * write, so a failed call leaves nothing half-done (Redis does not roll a function back).
 */
function prelude(keyTypes: readonly KeyType[]): string {
  if (keyTypes.length === 0) return '';
  return `local function precondition(ok, what) if not ok then error({err = '${PRECONDITION} ' .. what}) end end
local key_types = {${keyTypes.map((t) => `'${t}'`).join(', ')}}
for i = 1, #KEYS do
  local want = key_types[math.min(i, #key_types)]
  local have = redis.call('TYPE', KEYS[i]).ok
  precondition(have == 'none' or have == want, 'KEYS[' .. i .. '] is a ' .. have .. ', not a ' .. want)
end
`;
}

const MODULE_NAME = /^[a-z][a-z0-9]*$/;
const libraries: RedisLibrary[] = [];

/**
 * One module's Redis Functions (a Redis library), loaded by the operator (`FUNCTION LOAD`): service users may only
 * call them (`FCALL`), never run Lua of their own (`EVAL`), so no credential can send a script that never returns
 * and stall every service behind it. Unlike the script cache, a library is kept in the RDB/AOF and replicated.
 *
 * Names are content-addressed, like a script's SHA1: the library is `warren_<module>_<hash>` and each function
 * `warren_<module>_<hash>_<name>`, `<hash>` taken over the module's whole source. A release that changes a
 * function loads a new library beside the old one, so during a rolling upgrade the old pods keep calling the
 * code they were built with (`npm run redis-functions -- prune` drops libraries no release uses, afterwards).
 *
 * Each library also has `<library>_loaded` (no keys, no writes), which tells a service user whether it is there.
 */
export class RedisLibrary {
  private readonly functions_: RedisFunction[] = [];
  private built?: { name: string; code: string };

  constructor(readonly module: string) {
    if (!MODULE_NAME.test(module)) throw new Error(`Redis library module ${JSON.stringify(module)}: lower-case letters and digits only`);
    if (libraries.some((l) => l.module === module)) throw new Error(`Redis library module ${module} is defined twice`);
    libraries.push(this);
  }

  /** Every library defined in this process (a module's library is defined when the module is imported). */
  static all(): readonly RedisLibrary[] {
    return libraries;
  }

  /**
   * A function of this library; `source` is Lua over `KEYS` and `ARGV` as for EVAL.
   * @param keyTypes The type each `KEYS[i]` must have if it exists; the last one holds for every key after it.
   *   Checked before the function's own source runs, so a key of another type fails the call with nothing written.
   */
  define(name: string, source: string, keyTypes: readonly KeyType[] = []): RedisFunction {
    if (this.built) throw new Error(`Redis library ${this.module}: ${name} defined after the library was built`);
    if (!MODULE_NAME.test(name) || name === 'loaded' || this.functions_.some((f) => f.shortName === name))
      throw new Error(`Redis library ${this.module}: bad or repeated function name ${JSON.stringify(name)}`);
    const fn = new RedisFunction(this, name, prelude(keyTypes) + source);
    this.functions_.push(fn);
    return fn;
  }

  /** The functions defined so far. */
  get functions(): readonly RedisFunction[] {
    return this.functions_;
  }

  /** `warren_<module>_<hash>`; building it fixes the library (no function may be added after). */
  get name(): string {
    return this.build().name;
  }

  /** The library's source for `FUNCTION LOAD`. */
  get code(): string {
    return this.build().code;
  }

  /** The function that answers 1 when the library is loaded (`FCALL_RO <it> 0`). */
  get probe(): string {
    return `${this.name}_loaded`;
  }

  private build(): { name: string; code: string } {
    if (this.built) return this.built;
    const hash = createHash('sha256');
    hash.update(this.module);
    for (const fn of this.functions_) hash.update(`\0${fn.shortName}\0${fn.source}`);
    const name = `warren_${this.module}_${hash.digest('hex').slice(0, 16)}`;
    const registrations = this.functions_.map(
      (fn) => `redis.register_function{function_name = '${name}_${fn.shortName}', callback = function(KEYS, ARGV)
${fn.source}
end}`,
    );
    const code = [
      `#!lua name=${name}`,
      `-- Warren's ${this.module} functions (shared/redis/script.ts); loaded by \`${LOAD_FUNCTIONS_STEP}\`.`,
      ...registrations,
      `redis.register_function{function_name = '${name}_loaded', callback = function() return 1 end, flags = {'no-writes'}}`,
      '',
    ].join('\n');
    this.built = { name, code };
    return this.built;
  }
}

/**
 * One function of a {@link RedisLibrary}, called with FCALL. Every function of Warren's is an effect with its done
 * marker, so under Sentinel a call only returns once a replica holds its writes (replica-ack.ts); on a single Redis
 * that costs nothing. A function names every key it touches in KEYS, never building one inside Lua, so the ACL
 * checks each key against the caller's patterns before the function runs.
 */
export class RedisFunction {
  /** Lua over `KEYS` and `ARGV` with the key-type prelude: the function's body (EVAL would run it the same). */
  readonly source: string;

  constructor(
    readonly library: RedisLibrary,
    readonly shortName: string,
    source: string,
  ) {
    this.source = source;
  }

  /** `warren_<module>_<hash>_<name>` */
  get name(): string {
    return `${this.library.name}_${this.shortName}`;
  }

  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const call = () => redis.fcall(this.name, keys.length, ...keys, ...args);
    const ran = call().catch(async (error: unknown) => {
      // A Redis that lost its functions (an operator's FUNCTION FLUSH, a Redis without persistence restarted):
      // loaded again where this user may, else a transient RedisFunctionsMissingError naming the operator step.
      if (!isFunctionNotFound(error)) return refusal(error);
      await ensureLibraries(redis, [this.library]);
      return call().catch(refusal);
    });
    // A single Redis has no replica to wait for: no second hop then (the common case, and the benchmarked one).
    return needsReplicaAck(redis) ? ran.then(async (result) => (await awaitReplicaAck(redis), result)) : ran;
  }
}

/** The precondition's own reply prefix is a permanent refusal: retrying cannot change the stored state. */
function refusal(error: unknown): never {
  if (error instanceof Error && error.message.includes(PRECONDITION)) throw new StatePreconditionError(error.message);
  throw error;
}

const isFunctionNotFound = (error: unknown): boolean => error instanceof Error && /Function not found/i.test(error.message);
const isNoPerm = (error: unknown): boolean => error instanceof Error && error.message.startsWith('NOPERM');

/** Which of `wanted` this Redis lacks: one pipelined `FCALL_RO <library>_loaded 0` each, which any service user may run. */
export async function missingLibraries(redis: Redis, wanted: readonly RedisLibrary[] = RedisLibrary.all()): Promise<RedisLibrary[]> {
  const answers = await Promise.all(
    wanted.map((library) =>
      redis.fcall_ro(library.probe, 0).then(
        () => false,
        (error: unknown) => {
          if (isFunctionNotFound(error)) return true;
          throw error;
        },
      ),
    ),
  );
  return wanted.filter((_, i) => answers[i]);
}

/**
 * Loads each library of `libraries` Redis lacks (`FUNCTION LOAD`; one loaded meanwhile by another process counts
 * as loaded) and answers their names. Under Sentinel it returns once a replica holds them, so a failover right
 * after keeps them. Throws what Redis answered otherwise (NOPERM for a service user).
 */
export async function loadLibraries(redis: Redis, libraries: readonly RedisLibrary[]): Promise<string[]> {
  const loaded: string[] = [];
  for (const library of libraries) {
    try {
      await redis.call('FUNCTION', 'LOAD', library.code);
      loaded.push(library.name);
    } catch (error) {
      // Content-addressed: a library of this name holds this very code.
      if (!(error instanceof Error && /already exists/.test(error.message))) throw error;
    }
  }
  if (loaded.length > 0) await awaitReplicaAck(redis);
  return loaded;
}

// One check at a time per client: the write probe and a store's call finding a library missing share it.
const ensuring = new WeakMap<Redis, Promise<string[]>>();

/**
 * Makes sure Redis has `libraries` (every library of this process by default): loads those missing where this
 * user may (the operator's `default` on a laptop and in tests), and answers the names it loaded; for a user
 * refused `FUNCTION LOAD` (every service user), throws {@link RedisFunctionsMissingError} naming the operator step.
 */
export function ensureLibraries(redis: Redis, libraries: readonly RedisLibrary[] = RedisLibrary.all()): Promise<string[]> {
  const running = ensuring.get(redis);
  if (running) return running;
  const check = (async () => {
    const missing = await missingLibraries(redis, libraries);
    if (missing.length === 0) return [];
    try {
      return await loadLibraries(redis, missing);
    } catch (error) {
      if (isNoPerm(error))
        throw new RedisFunctionsMissingError(
          missing.map((l) => l.name),
          redis.options.username ?? 'default',
        );
      throw error;
    }
  })().finally(() => ensuring.delete(redis));
  ensuring.set(redis, check);
  return check;
}
