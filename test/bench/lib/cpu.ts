import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time spent by this process, the broker (beam.smp) and Redis over a measured phase, so a report can say
 * where a message's time goes, not just how many went through. Processes found by name once; children by pid.
 */
export interface CpuSnapshot {
  self: number;
  broker: number;
  redis: number;
  children: Record<string, number>;
  /** Read and write system calls (socket I/O included) of this process and the children, summed. */
  syscalls: number;
  /** Times a thread of this process, the children, the broker or Redis went to sleep and was woken, summed. */
  wakeups: number;
  /** Milliseconds the hypervisor ran something else while this VM had work (all CPUs, /proc/stat `steal`). */
  steal: number;
}

function stealMs(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    return Number(cpu[8]) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function pidOf(name: string): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-o', '-x', name], { encoding: 'utf8' }).trim();
    return out ? Number(out) : undefined;
  } catch {
    return undefined;
  }
}

let pids: { broker?: number; redis?: number } | undefined;

/** utime + stime of a process in milliseconds, or NaN when it cannot be read. */
export function processCpuMs(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/**
 * syscr + syscw of a process (/proc/<pid>/io): every read and write system call, socket I/O included. On a VM a
 * socket write that wakes its reader on the other core costs far more than the bytes it moves, so this count
 * explains much of why a message costs more CPU when messages come one at a time than when they come in bursts.
 */
export function processSyscalls(pid: number | 'self'): number {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
    return field('syscr') + field('syscw');
  } catch {
    return Number.NaN;
  }
}

/**
 * Voluntary context switches of every thread of a process: each is a thread that ran out of work, slept, and was
 * woken again. On a VM each costs far more than the work it wakes for; a message that arrives alone costs several.
 */
export function processWakeups(pid: number | 'self' | undefined): number {
  if (!pid) return Number.NaN;
  try {
    let total = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      total += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

export function cpuSnapshot(children: Record<string, number> = {}): CpuSnapshot {
  pids ??= { broker: pidOf('beam.smp'), redis: pidOf('redis-server') };
  const { user, system } = process.cpuUsage();
  return {
    self: (user + system) / 1000,
    broker: processCpuMs(pids.broker),
    redis: processCpuMs(pids.redis),
    children: Object.fromEntries(Object.entries(children).map(([name, pid]) => [name, processCpuMs(pid)])),
    syscalls: [processSyscalls('self'), ...Object.values(children).map((pid) => processSyscalls(pid))].reduce((a, b) => a + b, 0),
    steal: stealMs(),
    wakeups: ['self' as const, pids.broker, pids.redis, ...Object.values(children)]
      .map((pid) => processWakeups(pid))
      .reduce((a, b) => a + b, 0),
  };
}

/** Microseconds of CPU per message in each process between two snapshots, and the Node processes' I/O system calls per message. */
export function cpuPerMessage(before: CpuSnapshot, after: CpuSnapshot, messages: number): Record<string, number> {
  const per = (a: number, b: number) => Math.round(((b - a) * 1000) / messages);
  const out: Record<string, number> = {
    client: per(before.self, after.self),
    broker: per(before.broker, after.broker),
    redis: per(before.redis, after.redis),
  };
  for (const [name, ms] of Object.entries(after.children)) out[name] = per(before.children[name] ?? Number.NaN, ms);
  out['io-syscalls'] = Math.round(((after.syscalls - before.syscalls) / messages) * 10) / 10;
  out['wakeups'] = Math.round(((after.wakeups - before.wakeups) / messages) * 10) / 10;
  out['steal'] = per(before.steal, after.steal);
  return out;
}
