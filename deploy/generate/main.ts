import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_DECLARATIONS } from '../../workers/registry';
import { REPO, renderAll } from './artifacts';

/**
 * `npm run deploy:generate [-- --check]`: rewrites the committed files derived from workers/registry.ts (broker
 * definitions, the chart's service list and values schema, prometheus.yml, the healthcheck's ports, EXPOSE, and the
 * generated regions of the compose files, .env.example and the chart's CI values).
 * `--check` changes nothing and exits 1 naming every stale file (test/deploy/generated-files.test.ts does the same).
 */
function main(argv: readonly string[]): void {
  const check = argv.includes('--check');
  const stale = renderAll(SERVICE_DECLARATIONS).filter((file) => file.current !== file.wanted);
  for (const file of stale) {
    if (check) {
      process.stdout.write(`stale: ${file.path}\n`);
    } else {
      writeFileSync(path.join(REPO, file.path), file.wanted);
      process.stdout.write(`wrote ${file.path}\n`);
    }
  }
  if (check && stale.length > 0) {
    process.stdout.write('run `npm run deploy:generate` and commit the result\n');
    process.exitCode = 1;
  }
}

main(process.argv.slice(2));
