/** What a bench run records about itself, printed at the head of its table and its BENCHMARKS.md sections. */
export interface Meta {
  startedAt: string;
  durationS?: number;
  command: string;
  mode: 'full' | 'quick';
  machine: Record<string, string | number>;
}
