import type { Results, Target } from './results';
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
const target = (t?: Target) => (t ? `${t.kind === 'min' ? '≥' : '≤'} ${t.value}` : '');
const verdict = (pass?: boolean) => (pass === undefined ? '' : pass ? 'PASS' : 'MISS');

/** The plain-text table printed at the end of a run. */
export function renderTable(results: Results, meta: Meta): string {
  const out: string[] = [];
  const line = (cols: string[], widths: number[]) =>
    cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(
    `Warren benchmarks (${meta.mode}) — ${meta.startedAt} — ${meta.machine['cpu']} ×${meta.machine['cores']}, load ${meta.machine['loadStart']} → ${meta.machine['loadEnd'] ?? '?'}`,
  );
  let group = '';
  const w = [78, 12, 9, 7, 40];
  out.push('', line(['THROUGHPUT (median of repetitions)', 'median', 'unit', 'spread', 'samples'], w));
  for (const r of results.rows) {
    if (r.group !== group) out.push(`  ${(group = r.group)}`);
    out.push(line([`    ${r.label}`, fmt(r.summary.median), r.unit, spread(r.summary), r.summary.samples.map((s) => fmt(s)).join(' ')], w));
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
  out.push('| machine | |', '|---|---|');
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
  out.push('', '### Throughput', '', '| group | measured | median | spread | samples |', '|---|---|---:|---:|---|');
  for (const r of results.rows)
    out.push(
      `| ${r.group} | ${r.label} | ${fmt(r.summary.median)} ${r.unit} | ${spread(r.summary)} | ${r.summary.samples.map((s) => fmt(s)).join(', ')} |`,
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
