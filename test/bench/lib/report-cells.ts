/**
 * The cells the bench's reports are made of, shared by the plain-text table and BENCHMARKS.md so that a number reads
 * the same in both: thousands separators, "—" for what was not measured, targets as ≥/≤ and their verdict.
 */
import { meets, type MemoryRow, type Ratio, type Target } from './results';
import type { Summary } from './stats';

export const fmt = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';
export const spread = (s: Summary) => (Number.isFinite(s.spread) ? `±${Math.round((s.spread * 100) / 2)}%` : '');
// Redis commands per order are a count near ten: its hundredths show a batch (outbox removals, polls) at work.
export const digitsOf = (unit: string) => (unit === 'cmds/order' ? 2 : 0);
export const target = (t?: Target) => (t ? `${t.kind === 'min' ? '≥' : '≤'} ${t.value}` : '');
export const verdict = (pass?: boolean) => (pass === undefined ? '' : pass ? 'PASS' : 'MISS');
export const slope = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}` : '—');
/** The soak's memory columns: RSS start / peak / end (MB), slopes (MB/min), the verdict's limit, heap used. */
export const memoryCells = (m: MemoryRow) => [
  fmt(m.ratePerSecond),
  fmt(m.minutes, 1),
  `${fmt(m.rss.startMb, 1)} / ${fmt(m.rss.peakMb, 1)} / ${fmt(m.rss.endMb, 1)}`,
  slope(m.rss.slopeMbPerMin),
  slope(m.rss.lateSlopeMbPerMin),
  `< ${fmt(m.limitMbPerMin, 1)}`,
  m.heap ? `${fmt(m.heap.startMb, 1)} → ${fmt(m.heap.endMb, 1)} (${slope(m.heap.lateSlopeMbPerMin)})` : '—',
  m.flat === undefined ? 'SHORT' : m.flat ? 'FLAT' : 'GROWS',
];

export const ratioCell = (r?: Ratio, t?: Target) =>
  r
    ? `${fmt(r.summary.median, 2)} (${fmt(r.summary.min, 2)}–${fmt(r.summary.max, 2)})${t ? ` ${target(t)} ${verdict(meets(r.summary.median, t))}` : ''}`
    : '—';
export const num = (v?: number) => (v === undefined ? '—' : fmt(v));
