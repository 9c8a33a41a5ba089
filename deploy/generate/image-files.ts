import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';

/** The line after a `# generated:` (or `// generated:`) marker is rewritten; the rest of the file is hand-written. */
function replaceMarkedLine(text: string, marker: string, line: string, file: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes(marker));
  if (at < 0 || at + 1 >= lines.length) throw new Error(`${file}: no "${marker}" line to generate after`);
  lines[at + 1] = line;
  return lines.join('\n');
}

export const GENERATED_MARKER = 'generated from workers/registry.ts by `npm run deploy:generate`';

/** Dockerfile: EXPOSE every declared port (each API, then each ops port). */
export function dockerfile(services: readonly ServiceDeclaration[], current: string): string {
  const ports = [...services.flatMap((s) => (s.api ? [s.api.default] : [])), ...services.map((s) => s.ops.default)];
  return replaceMarkedLine(current, GENERATED_MARKER, `EXPOSE ${ports.join(' ')}`, 'Dockerfile');
}

/** deploy/scripts/container-healthcheck.mjs: each service's ops-port variable and default. */
export function healthcheck(services: readonly ServiceDeclaration[], current: string): string {
  const table = Object.fromEntries(services.map((s) => [s.name, { env: s.ops.env, port: s.ops.default }]));
  return replaceMarkedLine(current, GENERATED_MARKER, `const OPS_PORTS = ${JSON.stringify(table)};`, 'container-healthcheck.mjs');
}
