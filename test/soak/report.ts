import type { FaultRecord } from './faults';
import { signed, type Growth, type Probe, type ServiceMemory } from './memory';
import type { OrderReport } from './outcomes';

export interface SoakSummary {
  command: string;
  minutes: number;
  faultEveryS: number;
  rate: number;
  /** Undefined when --rate was given. */
  maximum?: { perSecond: number; orders: number; clients: number; seconds: number };
  /** The client pool's size, and the most an order went out behind its time (a full pool holds orders back). */
  clients: { maxInFlight: number; lagS: number };
  /** Messages waiting in each consumer queue when the last order was accepted: how far behind the fleet was. */
  queuedAtEnd: Record<string, number>;
  faults: FaultRecord[];
  unexpectedExits: string[];
  orders: OrderReport;
  memory: ServiceMemory[];
  runDir: string;
  tookS: number;
}

/** Why the run failed, one line each; empty: it passed. */
export function failures(s: SoakSummary): string[] {
  const o = s.orders;
  const out: string[] = [];
  if (o.lost > 0) out.push(`${o.lost} lost`);
  if (o.doneTwice > 0) out.push(`${o.doneTwice} done twice`);
  if (o.stuck.length > 0) out.push(`${o.stuck.length} stuck (PENDING after settling)`);
  if (o.wrong.length > 0) out.push(`${o.wrong.length} ended otherwise than they asked`);
  if (o.placed !== o.accepted) out.push(`${o.placed - o.accepted} never accepted`);
  const dead = Object.values(o.deadLetters).reduce((a, b) => a + b, 0);
  if (dead > 0) out.push(`${dead} dead letters`);
  for (const m of s.memory)
    if (m.grows) out.push(`${m.service}: ${m.afterGc.verdict === 'grows' ? 'after-GC memory grew beyond its bound' : m.judge}`);
  for (const exit of s.unexpectedExits) out.push(`service exited on its own: ${exit}`);
  for (const f of s.faults) if (f.error) out.push(`fault ${f.n} (${f.kind}): ${f.error}`);
  return out;
}

export function renderReport(s: SoakSummary): string {
  const o = s.orders;
  const lines: string[] = [];
  const rule = '='.repeat(100);
  lines.push(rule, `Warren soak: ${s.command}`, rule);
  lines.push(
    s.maximum
      ? `rate: ${s.rate} orders/s, half the maximum of ${Math.round(s.maximum.perSecond)} orders/s measured at start ` +
          `(${s.maximum.orders} orders by ${s.maximum.clients} closed-loop clients in ${s.maximum.seconds.toFixed(1)} s)`
      : `rate: ${s.rate} orders/s (--rate; no maximum measured)`,
  );
  lines.push(`orders flowed ${s.minutes} min, a fault every ${s.faultEveryS} s; the whole run took ${fmtDuration(s.tookS)}`);
  lines.push(
    `clients: at most ${s.clients.maxInFlight} orders in flight, retrying 503s and resets with backoff (0.2 s doubling to 5 s); ` +
      `orders went out at most ${s.clients.lagS.toFixed(1)} s behind their time`,
  );

  lines.push('', 'Faults');
  if (s.faults.length === 0) lines.push('  none (the run was shorter than the fault interval)');
  for (const f of s.faults)
    lines.push(
      `  ${pad(`#${f.n}`, 4)}${pad(`${f.atS.toFixed(0)} s`, 8)}${pad(f.kind, 21)}took ${pad(`${f.tookS.toFixed(1)} s`, 8)}` +
        `${f.readyAfterS === undefined ? 'NOT ready again' : `all ready after ${f.readyAfterS.toFixed(1)} s`}  (${f.detail})` +
        (f.lastNotReady ? `; last not ready: ${f.lastNotReady}` : '') +
        (f.error ? `  ERROR: ${f.error}` : ''),
    );
  if (s.unexpectedExits.length > 0) lines.push(`  services that exited on their own (restarted): ${s.unexpectedExits.join('; ')}`);

  lines.push('', 'Orders');
  lines.push(
    `  placed ${o.placed}, accepted ${o.accepted} (${o.unavailable} answers 503, each retried with its Idempotency-Key); ` +
      `every order ended ${o.stuck.length + o.missing.length === 0 ? `${o.settledInS.toFixed(1)} s after the last was accepted` : `— not all within ${o.settledInS.toFixed(0)} s`}`,
  );
  lines.push(`  ${pad('asked for', 32)}${pad('orders', 10)}${pad('as asked', 10)}ended`);
  for (const [kind, t] of Object.entries(o.byKind).sort())
    lines.push(
      `  ${pad(kind, 32)}${pad(String(t.orders), 10)}${pad(String(t.asExpected), 10)}${Object.entries(t.ended)
        .map(([how, n]) => `${how} ${n}`)
        .join(', ')}`,
    );
  lines.push(
    `  queued when the last order was accepted: ${
      Object.entries(s.queuedAtEnd)
        .map(([q, n]) => `${q} ${n}`)
        .join(', ') || '—'
    }`,
  );
  lines.push(`  ended otherwise than asked: ${o.wrong.length}`);
  const timeouts = o.wrong.filter((line) => line.endsWith('ended TIMEOUT')).length;
  if (timeouts > 0)
    lines.push(
      `    ${timeouts} TIMEOUT: no answer from both workers within ORDER_TIMEOUT_MS (60 s); the queue depths above and in the ` +
        `minute lines say whether the fleet had fallen behind its load`,
    );
  lines.push(`  lost: ${o.lost} (accepted then unknown: ${o.missing.length}; effects: ${o.lost - o.missing.length})`);
  lines.push(`  done twice: ${o.doneTwice}`);
  lines.push(`  stuck (PENDING after settling): ${o.stuck.length}`);
  lines.push(
    `  dead-letter queues: ${Object.entries(o.deadLetters)
      .map(([q, n]) => `${q} ${n}`)
      .join(', ')}`,
  );
  const named = [...o.wrong, ...o.stuck.map((id) => `${id}: stuck PENDING`), ...o.missing, ...o.problems];
  for (const line of named.slice(0, 20)) lines.push(`    ${line}`);
  if (named.length > 20) lines.push(`    … ${named.length - 20} more in ${s.runDir}/problems.txt`);

  lines.push('', 'Memory (MB): heap used / RSS (V8 heap total) right after a full collection, through the inspector');
  lines.push(`  ${pad('probe', 34)}${s.memory.map((m) => pad(m.service, 26)).join('')}`);
  const labels = [...new Set(s.memory.flatMap((m) => m.probes.map((p) => p.label)))];
  const atOf = (label: string) => Math.min(...s.memory.flatMap((m) => m.probes.filter((p) => p.label === label).map((p) => p.atS)));
  for (const label of labels.sort((a, b) => atOf(a) - atOf(b)))
    lines.push(
      `  ${pad(`${label} @${atOf(label).toFixed(0)}s`, 34)}${s.memory
        .map((m) => pad(fmtProbe(m.probes.find((p) => p.label === label)), 26))
        .join('')}`,
    );
  lines.push('');
  for (const m of s.memory) {
    const a = m.afterGc;
    const growth = (what: string, g: Growth) =>
      `${what} ${signedMb(g.growthMb)} (bound < ${g.boundMb}) ${g.from.label} → ${g.to.label} (~${g.orders} orders)`;
    lines.push(
      `  ${m.service}: after GC ${a.verdict.toUpperCase()}: ` +
        (a.heap
          ? [
              growth('heap', a.heap),
              ...(a.rss ? [growth('RSS', a.rss)] : []),
              ...(a.rssFromFirst ? [`[RSS ${signedMb(a.rssFromFirst.growthMb)} ${a.rssFromFirst.from.label} → end]`] : []),
              ...(a.why ? [a.why] : []),
            ].join('; ')
          : a.why),
    );
    const t = m.sampled.trend;
    lines.push(
      `  ${' '.repeat(m.service.length)}  sampled RSS ${m.sampled.verdict.toUpperCase()}: ` +
        (t
          ? `pid ${m.sampled.pid}, ${m.sampled.fromS.toFixed(0)}–${m.sampled.toS.toFixed(0)} s: start ${t.startMb} / peak ${t.peakMb} / end ${t.endMb}, ` +
            `slope ${signed(t.slopeMbPerMin)} MB/min, last half ${signed(t.lateSlopeMbPerMin)} (limit < ${m.sampled.limitMbPerMin}); ${m.sampled.why}`
          : m.sampled.why),
    );
    lines.push(`  ${' '.repeat(m.service.length)}  ${m.judge}`);
  }

  const failed = failures(s);
  lines.push('', `Service logs, samples and this report: ${s.runDir}`);
  lines.push(rule, failed.length === 0 ? 'SOAK PASSED' : `SOAK FAILED: ${failed.join('; ')}`, rule);
  return lines.join('\n');
}

function fmtProbe(p: Probe | undefined): string {
  if (!p) return '';
  if (p.error !== undefined) return 'probe failed';
  return `${p.heapUsedMb} / ${p.rssMb} (${p.heapTotalMb})${p.pid !== undefined ? ` ${p.pid}` : ''}`;
}

const pad = (text: string, width: number) => (text.length >= width ? `${text} ` : text.padEnd(width));
const signedMb = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(1)}` : '—');
const fmtDuration = (s: number) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
