/** The results section of BENCHMARKS.md, and its scaling table: the same figures as the plain-text report, as Markdown. */
import type { Meta } from './report-meta';
import { digitsOf, fmt, memoryCells, spread, target, verdict } from './report-cells';
import { renderVersusMarkdown } from './report-versus';
import type { Results } from './results';

/** The results section of BENCHMARKS.md. */
export function renderMarkdown(results: Results, meta: Meta): string {
  const out: string[] = [];
  out.push(`Run ${meta.startedAt} (${meta.mode}, ${meta.durationS ?? '?'} s): \`${meta.command}\``, '');
  out.push(...renderVersusMarkdown(results));
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
