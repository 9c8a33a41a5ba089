import { spawn } from 'node:child_process';
import path from 'node:path';
import { loadConfig, type QueueType } from '../../../shared/config/config';
import type { BenchOptions } from '../lib/options';
import { EXCHANGE } from '../lib/payload';
import { ProcessGroup, scopeEnv } from '../lib/procs';
import { connectRaw, sleep } from '../lib/raw';
import type { Results } from '../lib/results';
import { openScope } from '../lib/scope';
import { withMemoryAlarm } from '../lib/watermark';

const WORKER = path.join(__dirname, '../workers/blocked-publisher.ts');
const ROOT = path.resolve(__dirname, '../../..');

interface Report {
  t: number;
  rssMb: number;
  heapMb: number;
  pending: number;
  offered: number;
  outcomes: Record<string, number>;
  afterGc?: boolean;
}

/**
 * A Warren publisher (its own process) offering a steady rate while the broker blocks every publisher (memory
 * alarm via `rabbitmqctl set_vm_memory_high_watermark`): its buffer must stop at PUBLISH_BUFFER_LIMIT and its
 * RSS with it, and once the alarm clears it must drain and confirm again. The watermark is restored in `finally`.
 */
export async function benchBlocked(results: Results, options: BenchOptions, queueType: QueueType): Promise<void> {
  const { ratePerSecond, baselineMs, blockedMs, recoveryMs } = options.blocked;
  const scope = await openScope('blocked');
  const raw = await connectRaw(scope.url, 'blocked');
  const group = new ProcessGroup();
  const reports: Report[] = [];
  const marks: Record<string, number> = {};
  try {
    const ch = await raw.createChannel();
    await ch.assertExchange(EXCHANGE, 'topic', { durable: true });
    // A short classic queue that drops its head: the messages are not the point, the publisher's memory is.
    await ch.assertQueue('bench.blocked', { durable: true, arguments: { 'x-queue-type': 'classic', 'x-max-length': 1000 } });
    await ch.bindQueue('bench.blocked', EXCHANGE, 'order.placed');
    await ch.close();
    const env = {
      ...scopeEnv(scope, queueType),
      BENCH_RATE: String(ratePerSecond),
      LOG_LEVEL: 'warn',
    };
    const child = group.add(
      'publisher',
      spawn(process.execPath, ['--expose-gc', '--import', 'tsx', WORKER], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }),
    );
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m) => (m === 'ready' ? resolve() : reports.push(m as Report)));
      child.once('exit', (code) => reject(new Error(`blocked publisher exited with ${code}`)));
    });
    marks['start'] = Date.now();
    await sleep(baselineMs);
    await withMemoryAlarm(async () => {
      marks['blocked'] = Date.now();
      await sleep(blockedMs);
    });
    marks['unblocked'] = Date.now();
    await sleep(recoveryMs);
    marks['end'] = Date.now();
    const gcReport = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      child.on('message', (m) => (m as Report).afterGc && (clearTimeout(timer), resolve()));
    });
    child.send('gc');
    await gcReport;
  } finally {
    await group.stop();
    await raw.close().catch(() => undefined);
    await scope.close();
  }
  analyse(results, reports, marks, loadConfig({}).publishBufferLimit);
}

function analyse(results: Results, reports: Report[], marks: Record<string, number>, bufferLimit: number): void {
  const afterGc = reports.find((r) => r.afterGc);
  const phase = (from: number, to: number) => reports.filter((r) => !r.afterGc && r.t >= from && r.t < to);
  const baseline = phase(marks['start']!, marks['blocked']!);
  const blocked = phase(marks['blocked']!, marks['unblocked']!);
  const recovery = phase(marks['unblocked']!, marks['end']! + 1);
  const last = (rs: Report[]) => rs[rs.length - 1];
  const baseRss = Math.max(...baseline.slice(Math.floor(baseline.length / 2)).map((r) => r.rssMb));
  const blockedRss = Math.max(...blocked.map((r) => r.rssMb));
  const peakRss = Math.max(...[...blocked, ...recovery].map((r) => r.rssMb));
  const baseHeap = Math.max(...baseline.map((r) => r.heapMb));
  const peakPending = Math.max(...[...blocked, ...recovery].map((r) => r.pending));
  const confirmedAtBlock = last(baseline)?.outcomes['confirmed'] ?? 0;
  const confirmedAtUnblock = last(blocked)?.outcomes['confirmed'] ?? 0;
  const end = last(recovery);
  const refused = end?.outcomes['buffer_full'] ?? 0;
  // While blocked, the buffer is the bound; RSS must level off with it.
  const bounded = peakPending <= bufferLimit && blockedRss - baseRss < 150;
  // Recovered: confirms flow again, and the buffer is back near where it was before the alarm.
  const basePending = Math.max(...baseline.map((r) => r.pending), 0);
  const retainedMb = afterGc ? afterGc.heapMb - baseHeap : Number.NaN;
  const recovered =
    !!end && end.outcomes['confirmed']! > confirmedAtUnblock && end.pending <= Math.max(basePending * 2, 600) && !(retainedMb > 20);
  const drainedAt = recovery.find((r) => r.pending <= Math.max(basePending * 2, 600))?.t;
  const drainS = drainedAt ? ((drainedAt - marks['unblocked']!) / 1000).toFixed(1) : '—';
  const data = {
    baseRss,
    blockedRss,
    peakRss,
    endRss: end?.rssMb,
    baseHeap,
    afterGc,
    peakPending,
    bufferLimit,
    refused,
    confirmedAtBlock,
    confirmedAtUnblock,
    end,
    marks,
    reports,
  };
  results.check(
    'blocked.bounded',
    'publisher under a broker memory alarm: buffer and RSS bounded',
    bounded,
    `RSS ${baseRss.toFixed(0)} → ${blockedRss.toFixed(0)} MB while blocked; buffer peaked at ${peakPending} of ${bufferLimit}; ${refused} publishes refused (buffer_full) instead of queued, ${end?.outcomes['timeout'] ?? 0} timed out`,
    data,
  );
  results.check(
    'blocked.recovers',
    'publisher after the alarm clears: drains and confirms again',
    recovered,
    `buffer back to normal ${drainS} s after the alarm cleared; confirmed ${confirmedAtUnblock} at unblock → ${end?.outcomes['confirmed'] ?? 0} at end; ` +
      `RSS peaked at ${peakRss.toFixed(0)} MB while draining; heap after a full GC ${afterGc ? afterGc.heapMb.toFixed(0) : '?'} MB (baseline ${baseHeap.toFixed(0)})`,
  );
}
