/**
 * Warren against the peers a user would pick instead (plain amqplib + ioredis doing the same work, Rascal, the raw
 * amqplib ceiling), for each path measured in a run: the rows, and the first table of both the plain-text report and
 * BENCHMARKS.md.
 */
import { fmt, num, ratioCell } from './report-cells';
import type { Ratio, Results, Target } from './results';

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
export function versusRows(results: Results): VersusRow[] {
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

const cpuCell = (c: VersusRow['cpu']) => [c.warren, c.plain, c.rascal, c.raw].map((v) => num(v)).join(' / ');

/** The first table of a run: Warren against plain amqplib + ioredis doing the same work, against Rascal, and the raw ceiling. */
export function renderVersus(results: Results): string[] {
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

/** The versus section of BENCHMARKS.md; no lines when the run measured none of its paths. */
export function renderVersusMarkdown(results: Results): string[] {
  const out: string[] = [];
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
  return out;
}
