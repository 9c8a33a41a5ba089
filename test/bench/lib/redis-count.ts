import { Redis } from 'ioredis';

export interface CommandCount {
  /** Client commands (not those a script runs inside Redis) naming a key under the prefix, per unit of work. */
  perUnit: number;
  byCommand: Record<string, number>;
}

/**
 * Counts the Redis commands a system sends while `run` does `units` of work, with MONITOR: only commands from
 * clients (a script's own calls are reported with source `lua` and left out) that name a key under `prefix`, so
 * the other users of this Redis (and other scopes of the run) do not count. Waits, after `run`, until no such
 * command came for 300 ms: the work that follows the last measured event (a settle, a batched removal) counts
 * too. MONITOR slows Redis down: never around a measured part.
 */
export async function countRedisCommands(redisUrl: string, prefix: string, units: number, run: () => Promise<void>): Promise<CommandCount> {
  const client = new Redis(redisUrl);
  const monitor = await client.monitor();
  // Lines still streaming in while the monitor connection closes make ioredis emit "Command queue state error";
  // with no listener that would end the whole run. The count is already taken by then.
  monitor.on('error', () => undefined);
  const counts = new Map<string, number>();
  let last = Date.now();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua' || !args.some((a) => a.includes(prefix))) return;
    const name = (args[0] ?? '?').toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
    last = Date.now();
  });
  try {
    await run();
    const deadline = Date.now() + 10_000;
    while (Date.now() - last < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const per = (n: number) => Math.round((n / units) * 100) / 100;
  return {
    perUnit: per(total),
    byCommand: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
  };
}
