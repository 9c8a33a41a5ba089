/**
 * What the soak samples while it runs: each service's RSS from /proc, and V8's heap and external memory from the
 * service's own /metrics, one series per service and quantity, in MB against seconds since the first order.
 */
import { performance } from 'node:perf_hooks';
import { SERVICE_NAMES } from '../../../workers/registry';
import type { RssSeries } from '../lib/memory';
import { rssMb, type WarrenFleet } from '../lib/procs';

/**
 * Each service's RSS (from /proc, every tick), and from its /metrics (when the last scrape is done) V8 heap used,
 * V8 heap total and external memory: where RSS growth is, if any (heap objects, V8's committed heap, or buffers).
 */
export class SoakSampler {
  readonly rss: Record<string, RssSeries> = {};
  readonly heap: Record<string, RssSeries> = {};
  readonly heapTotal: Record<string, RssSeries> = {};
  readonly external: Record<string, RssSeries> = {};
  private readonly timer: NodeJS.Timeout;
  private readonly scraping = new Set<string>();

  constructor(fleet: WarrenFleet, t0: number, everyMs: number) {
    const pids = fleet.pids();
    for (const name of SERVICE_NAMES) {
      this.rss[name] = { t: [], mb: [] };
      this.heap[name] = { t: [], mb: [] };
      this.heapTotal[name] = { t: [], mb: [] };
      this.external[name] = { t: [], mb: [] };
    }
    const sample = () => {
      const t = round1((performance.now() - t0) / 1000);
      for (const name of SERVICE_NAMES) {
        const mb = rssMb(pids[name]);
        if (Number.isFinite(mb)) push(this.rss[name]!, t, mb);
        if (this.scraping.has(name)) continue;
        this.scraping.add(name);
        const done = (v: V8Memory) => {
          this.scraping.delete(name);
          if (Number.isFinite(v.used)) push(this.heap[name]!, t, v.used);
          if (Number.isFinite(v.total)) push(this.heapTotal[name]!, t, v.total);
          if (Number.isFinite(v.external)) push(this.external[name]!, t, v.external);
        };
        v8Memory(fleet.ops[name]).then(done, () => done(NO_V8_MEMORY));
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function push(series: RssSeries, t: number, mb: number): void {
  series.t.push(t);
  series.mb.push(round1(mb));
}

interface V8Memory {
  used: number;
  total: number;
  external: number;
}
const NO_V8_MEMORY: V8Memory = { used: Number.NaN, total: Number.NaN, external: Number.NaN };

/** Heap used, heap total and external memory from a service's default prom-client metrics, in MB (NaN: missing). */
async function v8Memory(ops: string): Promise<V8Memory> {
  try {
    const text = await fetch(`${ops}/metrics`, { signal: AbortSignal.timeout(900) }).then((r) => r.text());
    const mb = (metric: string) => {
      const line = new RegExp(`^\\w*${metric}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
      return line ? Number(line[1]) / 2 ** 20 : Number.NaN;
    };
    return {
      used: mb('nodejs_heap_size_used_bytes'),
      total: mb('nodejs_heap_size_total_bytes'),
      external: mb('nodejs_external_memory_bytes'),
    };
  } catch {
    return NO_V8_MEMORY;
  }
}

export const round1 = (v: number) => Math.round(v * 10) / 10;
