import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

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
  // redis-cli, not ioredis' monitor(): ioredis 6 mixes MONITOR lines into a normal connection's replies under load
  // ("Command queue state error"), which ended whole runs.
  const monitor = spawn('redis-cli', ['-u', redisUrl, 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const counts = new Map<string, number>();
  let last = Date.now();
  const lines = createInterface({ input: monitor.stdout });
  lines.on('line', (line) => {
    // 1796169023.893211 [0 127.0.0.1:47118] "hget" "<key>" "items"; a script's own calls say [0 lua].
    const close = line.indexOf('] ');
    if (close < 0 || line.slice(0, close).endsWith(' lua') || !line.includes(prefix)) return;
    const name = /^"([^"]*)"/.exec(line.slice(close + 2))?.[1]?.toLowerCase() ?? '?';
    counts.set(name, (counts.get(name) ?? 0) + 1);
    last = Date.now();
  });
  await new Promise((r) => setTimeout(r, 300)); // MONITOR is on once redis-cli has connected
  try {
    await run();
    const deadline = Date.now() + 10_000;
    while (Date.now() - last < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    monitor.kill();
    lines.close();
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const per = (n: number) => Math.round((n / units) * 100) / 100;
  return {
    perUnit: per(total),
    byCommand: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
  };
}
