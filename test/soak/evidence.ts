import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SERVICE_NAMES } from '../../workers/registry';

const LINES_PER_ORDER = 40;

/**
 * The service log lines that name each of `orderIds` (up to 40 an order, in log order, per service), read from
 * `<runDir>/<service>.log`: what a report of a lost or doubled order needs beside its id.
 */
export async function logLinesFor(runDir: string, orderIds: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  if (orderIds.length === 0) return out;
  const found = new Map<string, string[]>(orderIds.map((id) => [id, []]));
  for (const service of SERVICE_NAMES) {
    const file = path.join(runDir, `${service}.log`);
    if (!existsSync(file)) continue;
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines)
      for (const [id, hits] of found)
        if (hits.length < LINES_PER_ORDER * SERVICE_NAMES.length && line.includes(id)) hits.push(`[${service}] ${line}`);
  }
  for (const [id, hits] of found) out.push(`== ${id}: ${hits.length} log lines`, ...hits, '');
  return out;
}

/** The order ids (UUIDs) a report's problem lines name, first seen first. */
export function orderIdsIn(lines: readonly string[], max: number): string[] {
  const ids = new Set<string>();
  for (const line of lines) {
    const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(line)?.[0];
    if (id) ids.add(id);
    if (ids.size >= max) break;
  }
  return [...ids];
}
