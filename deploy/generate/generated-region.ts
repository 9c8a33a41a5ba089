/**
 * Files written partly by hand and partly from the registry (compose files, .env.example, the chart's CI values):
 * the generated part sits between two marker comments, and only it is rewritten. The markers keep their
 * indentation, and the region's lines take it, so a region can sit inside a YAML map.
 */
export const regionStart = (id: string): string => `# >>> ${id}: generated from workers/registry.ts by \`npm run deploy:generate\``;
export const regionEnd = (id: string): string => `# <<< ${id}`;

export function replaceRegion(text: string, id: string, lines: readonly string[], file: string): string {
  const all = text.split('\n');
  const start = all.findIndex((l) => l.trim() === regionStart(id));
  const end = all.findIndex((l, i) => i > start && l.trim() === regionEnd(id));
  if (start < 0 || end < 0) throw new Error(`${file}: no generated region "${id}" (its two marker lines are missing)`);
  const indent = /^\s*/.exec(all[start]!)![0];
  const body = lines.map((l) => (l === '' ? '' : `${indent}${l}`));
  return [...all.slice(0, start + 1), ...body, ...all.slice(end)].join('\n');
}
