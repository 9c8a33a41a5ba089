/** The plain-text report printed at the end of a bench run, table by table. */
import type { Meta } from './report-meta';
import { digitsOf, fmt, memoryCells, spread, target, verdict } from './report-cells';
import { renderVersus } from './report-versus';
import type { Results } from './results';

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
