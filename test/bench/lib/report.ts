import { meets, type MemoryRow, type Ratio, type Results, type Target } from './results';
import type { Summary } from './stats';

export interface Meta {
  startedAt: string;
  durationS?: number;
  command: string;
  mode: 'full' | 'quick';
  machine: Record<string, string | number>;
}

const fmt = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';
const spread = (s: Summary) => (Number.isFinite(s.spread) ? `±${Math.round((s.spread * 100) / 2)}%` : '');
// Redis commands per order are a count near ten: its hundredths show a batch (outbox removals, polls) at work.
const digitsOf = (unit: string) => (unit === 'cmds/order' ? 2 : 0);
const target = (t?: Target) => (t ? `${t.kind === 'min' ? '≥' : '≤'} ${t.value}` : '');
const verdict = (pass?: boolean) => (pass === undefined ? '' : pass ? 'PASS' : 'MISS');
const slope = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '—');
/** The soak's memory columns: RSS start / peak / end (MB), slopes (MB/min), the verdict's limit, heap used. */
const memoryCells = (m: MemoryRow) => [
  fmt(m.ratePerSecond),
  fmt(m.minutes, 1),
  `${fmt(m.rss.startMb, 1)} / ${fmt(m.rss.peakMb, 1)} / ${fmt(m.rss.endMb, 1)}`,
  slope(m.rss.slopeMbPerMin),
  slope(m.rss.lateSlopeMbPerMin),
  `< ${fmt(m.limitMbPerMin, 1)}`,
  m.heap ? `${fmt(m.heap.startMb, 1)} → ${fmt(m.heap.endMb, 1)} (${slope(m.heap.lateSlopeMbPerMin)})` : '—',
  m.flat === undefined ? 'SHORT' : m.flat ? 'FLAT' : 'GROWS',
];

/** The targets issue 15 sets against the peers; the publisher's is stricter than the RATIOS table's older one. */
const VERSUS_TARGETS = { plain: 0.7, rascal: 2, publisher: 0.9 };

interface VersusRow {
  what: string;
  unit: string;
  warren?: number;
  plain?: number;
  rascal?: number;
  /** The raw amqplib ceiling: the raw relay, the raw pattern, raw pipelined publishing. */
  raw?: number;
  vsPlain?: Ratio;
  vsRascal?: Ratio;
  vsRaw?: Ratio;
  plainTarget?: Target;
  rascalTarget?: Target;
  /** CPU µs per message, every process summed (client, broker, Redis, the fleet's processes). */
  cpu: { warren?: number; plain?: number; rascal?: number; raw?: number };
  /** Redis commands per order, Warren's and the plain peer's, with the commands that make them up. */
  redis?: { warren: string; plain: string };
}

/** Sum of a CPU row's processes (the counts beside them, syscalls, wakeups and steal, are not CPU of a process). */
function cpuTotal(results: Results, id: string): number | undefined {
  const row = results.cpu.find((c) => c.id === id);
  if (!row) return undefined;
  return Object.entries(row.perMessageUs)
    .filter(([k]) => !['io-syscalls', 'wakeups', 'steal'].includes(k))
    .reduce((a, [, v]) => a + (Number.isFinite(v) ? v : 0), 0);
}

/** The versus table's rows: Warren against the peers a user would pick instead, for each path measured in this run. */
function versusRows(results: Results): VersusRow[] {
  const med = (id: string) => results.find(id)?.summary.median;
  const ratio = (id: string) => results.ratios.find((r) => r.id === id);
  const target = (value: number): Target => ({ kind: 'min', value });
  const rows: VersusRow[] = [];
  for (const q of ['quorum', 'classic']) {
    if (med(`relay.warren.${q}`) !== undefined)
      rows.push({
        what: `inventory path (${q})`,
        unit: 'msg/s',
        warren: med(`relay.warren.${q}`),
        plain: med(`relay.plain.${q}`),
        rascal: med(`relay.rascal.${q}`),
        raw: med(`relay.raw.${q}`),
        vsPlain: ratio(`ratio.inventory.plain.${q}`),
        vsRascal: ratio(`ratio.inventory.rascal.${q}`),
        vsRaw: ratio(`ratio.inventory.${q}`),
        plainTarget: target(VERSUS_TARGETS.plain),
        rascalTarget: target(VERSUS_TARGETS.rascal),
        cpu: {
          warren: cpuTotal(results, `cpu.relay.warren.${q}`),
          plain: cpuTotal(results, `cpu.relay.plain.${q}`),
          rascal: cpuTotal(results, `cpu.relay.rascal.${q}`),
          raw: cpuTotal(results, `cpu.relay.raw.${q}`),
        },
      });
  }
  for (const q of ['quorum', 'classic']) {
    if (med(`e2e.warren.exchange.${q}`) !== undefined) {
      const redis = (id: string) => {
        const row = results.find(`redis.e2e.${id}.${q}`);
        return row ? `${fmt(row.summary.median, 2)} (${row.note ?? ''})` : '—';
      };
      rows.push({
        what: `fleet, through the exchange (${q})`,
        unit: 'orders/s',
        warren: med(`e2e.warren.exchange.${q}`),
        plain: med(`e2e.plain.${q}`),
        raw: med(`e2e.raw.${q}`),
        vsPlain: ratio(`ratio.e2e.plain.${q}`),
        vsRaw: ratio(`ratio.e2e.${q}`),
        plainTarget: target(VERSUS_TARGETS.plain),
        cpu: {
          warren: cpuTotal(results, `cpu.e2e.warren.exchange.${q}`),
          plain: cpuTotal(results, `cpu.e2e.plain.${q}`),
          raw: cpuTotal(results, `cpu.e2e.raw.${q}`),
        },
        ...(results.find(`redis.e2e.warren.${q}`) ? { redis: { warren: redis('warren'), plain: redis('plain') } } : {}),
      });
    }
  }
  for (const q of ['quorum', 'classic']) {
    if (med(`publish.warren.${q}`) !== undefined)
      rows.push({
        what: `publisher (${q})`,
        unit: 'msg/s',
        warren: med(`publish.warren.${q}`),
        raw: med(`publish.raw.${q}`),
        vsRaw: ratio(`ratio.publish.${q}`),
        cpu: { warren: cpuTotal(results, `cpu.publish.warren.${q}`), raw: cpuTotal(results, `cpu.publish.raw.${q}`) },
      });
  }
  return rows;
}

const ratioCell = (r?: Ratio, t?: Target) =>
  r
    ? `${fmt(r.summary.median, 2)} (${fmt(r.summary.min, 2)}–${fmt(r.summary.max, 2)})${t ? ` ${target(t)} ${verdict(meets(r.summary.median, t))}` : ''}`
    : '—';
const num = (v?: number) => (v === undefined ? '—' : fmt(v));
const cpuCell = (c: VersusRow['cpu']) => [c.warren, c.plain, c.rascal, c.raw].map((v) => num(v)).join(' / ');

/** The first table of a run: Warren against plain amqplib + ioredis doing the same work, against Rascal, and the raw ceiling. */
function renderVersus(results: Results): string[] {
  const rows = versusRows(results);
  if (rows.length === 0) return [];
  const w = [36, 9, 9, 9, 9, 28, 28, 28, 34];
  const line = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const out = [
    '',
    'VERSUS THE PEERS (median rate of repetitions; ratios paired by repetition: median (min–max), target; CPU: µs per message, every process summed)',
    line([
      '',
      'Warren',
      'plain',
      'Rascal',
      'raw',
      'Warren / plain same work',
      'Warren / Rascal',
      'Warren / raw (ceiling)',
      'CPU Warren / plain / Rascal / raw',
    ]),
  ];
  for (const r of rows) {
    const publisher = r.what.startsWith('publisher');
    out.push(
      line([
        `  ${r.what}`,
        num(r.warren),
        num(r.plain),
        num(r.rascal),
        num(r.raw),
        ratioCell(r.vsPlain, r.plainTarget),
        ratioCell(r.vsRascal, r.rascalTarget),
        ratioCell(r.vsRaw, publisher ? { kind: 'min', value: VERSUS_TARGETS.publisher } : undefined),
        cpuCell(r.cpu),
      ]),
    );
  }
  for (const r of rows.filter((x) => x.redis))
    out.push(`  Redis commands per order, ${r.what}: Warren ${r.redis!.warren}; plain ${r.redis!.plain}`);
  return out;
}

/** The plain-text table printed at the end of a run. */
export function renderTable(results: Results, meta: Meta): string {
  const out: string[] = [];
  const line = (cols: string[], widths: number[]) =>
    cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(
    `Warren benchmarks (${meta.mode}) — ${meta.startedAt} — ${meta.machine['cpu']} ×${meta.machine['cores']}, load ${meta.machine['loadStart']} → ${meta.machine['loadEnd'] ?? '?'}`,
  );
  out.push(...renderVersus(results));
  let group = '';
  const w = [78, 12, 9, 7, 40];
  out.push('', line(['THROUGHPUT (median of repetitions)', 'median', 'unit', 'spread', 'samples'], w));
  for (const r of results.rows) {
    if (r.group !== group) out.push(`  ${(group = r.group)}`);
    out.push(
      line(
        [
          `    ${r.label}`,
          fmt(r.summary.median, digitsOf(r.unit)),
          r.unit,
          spread(r.summary),
          r.summary.samples.map((s) => fmt(s)).join(' '),
        ],
        w,
      ),
    );
  }
  const wr = [78, 12, 16, 8, 6];
  out.push('', line(['RATIOS (paired by repetition, same run)', 'median', 'min–max', 'target', ''], wr));
  for (const r of results.ratios)
    out.push(
      line(
        [`  ${r.label}`, fmt(r.summary.median, 2), `${fmt(r.summary.min, 2)}–${fmt(r.summary.max, 2)}`, target(r.target), verdict(r.pass)],
        wr,
      ),
    );
  const wl = [66, 8, 8, 8, 16, 8, 6];
  out.push('', line(['LATENCY (ms, median of windows)', 'rate/s', 'p50', 'p95', 'p99 (min–max)', 'target', ''], wl));
  for (const l of results.latencies) {
    out.push(
      line(
        [
          `  ${l.label}`,
          fmt(l.ratePerSecond),
          fmt(l.p50.median, 1),
          fmt(l.p95.median, 1),
          `${fmt(l.p99.median, 1)} (${fmt(l.p99.min, 0)}–${fmt(l.p99.max, 0)})`,
          target(l.target),
          verdict(l.pass),
        ],
        wl,
      ),
    );
  }
  if (results.memory.length > 0) {
    const wm = [24, 7, 5, 24, 8, 10, 8, 28, 6];
    out.push(
      '',
      'MEMORY (soak: MB over the measured part after the warm-up; slopes: least squares, MB/min; last half: a leak keeps climbing there; SHORT: too short to judge)',
      line(['', 'rate/s', 'min', 'RSS start / peak / end', 'slope', 'last half', 'limit', 'heap used (last-half slope)', ''], wm),
    );
    for (const m of results.memory) out.push(line([`  ${m.label}`, ...memoryCells(m)], wm));
  }
  if (results.cpu.length > 0) {
    out.push(
      '',
      'CPU PER MESSAGE (µs, median of repetitions; where the time goes; io-syscalls: read and write system calls of the Node processes per message; wakeups: voluntary context switches of every thread of all processes, broker and Redis included, per message; steal: µs per message the hypervisor gave this VM CPU time to another guest)',
    );
    for (const c of results.cpu)
      out.push(
        `  ${c.label.padEnd(70)} ${Object.entries(c.perMessageUs)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ')}`,
      );
  }
  if (results.checks.length > 0) {
    out.push('', 'CHECKS');
    for (const c of results.checks) out.push(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.label}: ${c.detail}`);
  }
  if (results.errors.length > 0) {
    out.push('', 'ERRORS');
    for (const e of results.errors) out.push(`  ${e.scenario}: ${e.error}`);
  }
  return out.join('\n');
}

/** The results section of BENCHMARKS.md. */
export function renderMarkdown(results: Results, meta: Meta): string {
  const out: string[] = [];
  out.push(`Run ${meta.startedAt} (${meta.mode}, ${meta.durationS ?? '?'} s): \`${meta.command}\``, '');
  const versus = versusRows(results);
  if (versus.length > 0) {
    out.push(
      '### Versus the peers',
      '',
      'The same work three ways in one run: Warren; plain amqplib + ioredis running Warren’s Lua with the same keys (no schema validation); Rascal with the same ioredis script (inventory only); and the raw amqplib ceiling (raw relay, in-memory raw pattern, raw pipelined publish). Rates: median of repetitions; ratios: median of per-repetition ratios (min–max); CPU: µs per message, every process summed.',
      '',
      '| path | Warren | plain same work | Rascal | raw ceiling | Warren / plain | Warren / Rascal | Warren / raw | CPU µs: Warren / plain / Rascal / raw |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of versus) {
      const publisher = r.what.startsWith('publisher');
      out.push(
        `| ${r.what} | ${num(r.warren)} | ${num(r.plain)} | ${num(r.rascal)} | ${num(r.raw)} | ${ratioCell(r.vsPlain, r.plainTarget)} | ${ratioCell(r.vsRascal, r.rascalTarget)} | ${ratioCell(r.vsRaw, publisher ? { kind: 'min', value: VERSUS_TARGETS.publisher } : undefined)} | ${cpuCell(r.cpu)} |`,
      );
    }
    for (const r of versus.filter((x) => x.redis))
      out.push(
        '',
        `Redis commands per order, ${r.what} (MONITOR, client commands on the scope's keys): Warren ${r.redis!.warren}; plain ${r.redis!.plain}.`,
      );
  }
  out.push('', '| machine | |', '|---|---|');
  for (const [k, v] of Object.entries(meta.machine)) out.push(`| ${k} | ${v} |`);
  out.push('', '### Ratios against targets', '', '| ratio | median | min–max | target | |', '|---|---:|---:|---:|---|');
  for (const r of results.ratios)
    out.push(
      `| ${r.label} | ${fmt(r.summary.median, 2)} | ${fmt(r.summary.min, 2)}–${fmt(r.summary.max, 2)} | ${target(r.target)} | ${verdict(r.pass)} |`,
    );
  out.push(
    '',
    '### Latency (ms)',
    '',
    '| measured | rate/s | p50 | p95 | p99 (min–max over windows) | target | |',
    '|---|---:|---:|---:|---:|---:|---|',
  );
  for (const l of results.latencies) {
    out.push(
      `| ${l.label} | ${fmt(l.ratePerSecond)} | ${fmt(l.p50.median, 1)} | ${fmt(l.p95.median, 1)} | ${fmt(l.p99.median, 1)} (${fmt(l.p99.min, 0)}–${fmt(l.p99.max, 0)}) | ${target(l.target)} | ${verdict(l.pass)} |`,
    );
  }
  if (results.memory.length > 0) {
    out.push(
      '',
      '### Memory (soak)',
      '',
      'Each service over the measured part of the soak (after a warm-up that is not counted), orders through the HTTP API at half the maximum, open loop. MB; slopes: least squares, MB per minute, over the measured part and over its last half (a leak keeps climbing there; a warm-up has levelled off); flat when the last-half slope is under the limit (the flat threshold, or the GC sawtooth’s noise over the window when that is larger); SHORT: a measured part too short to judge. Heap: V8 heap used, from the service’s /metrics.',
      '',
      '| service | rate/s | minutes | RSS start / peak / end | slope | last-half slope | limit | heap used (last-half slope) | |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const m of results.memory) out.push(`| ${[m.label, ...memoryCells(m)].join(' | ')} |`);
  }
  out.push('', '### Throughput', '', '| group | measured | median | spread | samples |', '|---|---|---:|---:|---|');
  for (const r of results.rows)
    out.push(
      `| ${r.group} | ${r.label} | ${fmt(r.summary.median, digitsOf(r.unit))} ${r.unit} | ${spread(r.summary)} | ${r.summary.samples.map((s) => fmt(s)).join(', ')} |`,
    );
  if (results.cpu.length > 0) {
    out.push(
      '',
      '### CPU per message (µs)',
      '',
      '`io-syscalls`: read and write system calls of the Node processes (the harness, and the services or raw processes) per message, from `/proc/<pid>/io`; `wakeups`: voluntary context switches of every thread of those processes, the broker and Redis, per message (a thread that ran out of work, slept and was woken), from `/proc/<pid>/task/*/status`; `steal`: µs per message the hypervisor gave this VM CPU time to another guest (`/proc/stat`), the noise of the machine made visible.',
      '',
      '| measured | per process |',
      '|---|---|',
    );
    for (const c of results.cpu)
      out.push(
        `| ${c.label} | ${Object.entries(c.perMessageUs)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ')} |`,
      );
  }
  out.push('', '### Checks', '', '| check | | detail |', '|---|---|---|');
  for (const c of results.checks) out.push(`| ${c.label} | ${c.pass ? 'PASS' : 'FAIL'} | ${c.detail} |`);
  if (results.errors.length > 0) {
    out.push('', '### Errors', '');
    for (const e of results.errors) out.push(`- ${e.scenario}: ${e.error}`);
  }
  return out.join('\n');
}

/**
 * The scaling table of BENCHMARKS.md ("Scaling on the cluster"): orders/s with each replica count, median (min–max)
 * over the repetitions, against one replica, and CPU per order by process (median of the repetitions, µs), with the
 * part of it the same processes burn with no orders ("idle") and the rest ("per order").
 */
export function renderScalingMarkdown(results: Results, meta: Meta): string {
  const rates = results.rows.filter((r) => r.id.startsWith('scaling.rate.'));
  if (rates.length === 0) return '';
  const n = (id: string) => id.split('.').pop()!;
  const out: string[] = [
    `Run ${meta.startedAt} (${meta.durationS ?? '?'} s, ${rates[0]!.summary.samples.length} interleaved repetitions): \`${meta.command}\`; ${meta.machine['cpu']} ×${meta.machine['cores']}, load average ${meta.machine['loadStart']} → ${meta.machine['loadEnd'] ?? '?'}`,
    '',
    '| replicas of each worker | orders/s, median (min–max) | vs 1 replica, paired | client | order | inventory | payment | RabbitMQ (3 nodes) | Redis (3 nodes) | sentinels | total | of which idle | per order, net of idle | cores: fleet + cluster / of it idle / whole machine |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rates) {
    const ratio = results.ratios.find((x) => x.id === `ratio.scaling.${n(r.id)}`);
    const cpu = results.cpu.find((c) => c.id === `cpu.scaling.${n(r.id)}`)?.perMessageUs ?? {};
    const cores = (what: string) => fmt((results.find(`scaling.${what}.${n(r.id)}`)?.summary.median ?? Number.NaN) / 100, 2);
    const us = ['client', 'order', 'inventory', 'payment', 'rabbitmq', 'redis', 'sentinels', 'total', 'idle', 'marginal'].map((k) =>
      fmt(cpu[k] ?? Number.NaN),
    );
    out.push(
      `| ${n(r.id)} (${Number(n(r.id)) * 3} processes) | ${fmt(r.summary.median)} (${fmt(r.summary.min)}–${fmt(r.summary.max)}) | ${
        ratio ? `${fmt(ratio.summary.median, 2)} (${fmt(ratio.summary.min, 2)}–${fmt(ratio.summary.max, 2)})` : '1'
      } | ${us.join(' | ')} | ${cores('accounted')} / ${cores('idle')} / ${cores('machine')} |`,
    );
  }
  out.push('', 'CPU columns: µs per order, median of the repetitions.');
  const check = results.checks.find((c) => c.id === 'scaling.retries');
  if (check) out.push(`${check.label}: ${check.pass ? 'PASS' : 'FAIL'} (${check.detail}).`);
  return out.join('\n');
}
