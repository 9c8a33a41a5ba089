/**
 * What a bench run reports: the plain-text table (report-table.ts), the results and scaling sections of BENCHMARKS.md
 * (report-markdown.ts), both built from the same cells (report-cells.ts) and versus rows (report-versus.ts).
 */
export type { Meta } from './report-meta';
export { renderMarkdown, renderScalingMarkdown } from './report-markdown';
export { renderTable } from './report-table';
