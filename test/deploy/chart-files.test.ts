import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CHART, REPO } from './tools';

/**
 * Helm cannot read outside the chart, so the chart ships copies of the canonical dashboards, alert rules and
 * RabbitMQ definitions. deploy/scripts/sync-chart-files.sh makes them; this fails while any copy differs.
 */
const COPIES: { source: string; copy: string; pattern: RegExp }[] = [
  { source: 'deploy/grafana/dashboards', copy: 'files/dashboards', pattern: /\.json$/ },
  { source: 'deploy/prometheus/rules', copy: 'files/rules', pattern: /\.ya?ml$/ },
  { source: 'deploy/rabbitmq', copy: 'files/rabbitmq', pattern: /^definitions\.template\.json$/ },
];

const list = (dir: string, pattern: RegExp): string[] => {
  try {
    return readdirSync(dir).filter((f) => pattern.test(f)).sort();
  } catch {
    return [];
  }
};

describe('deploy: files the chart ships are identical to their sources', () => {
  for (const { source, copy, pattern } of COPIES) {
    it(`${copy} == ${source}`, () => {
      const sourceDir = path.join(REPO, source);
      const copyDir = path.join(CHART, copy);
      const files = list(sourceDir, pattern);
      assert.ok(files.length > 0, `${source} holds no ${pattern} files`);
      const hint = 'run deploy/scripts/sync-chart-files.sh';
      assert.deepEqual(list(copyDir, pattern), files, `file sets differ: ${hint}`);
      for (const file of files) {
        assert.ok(readFileSync(path.join(copyDir, file)).equals(readFileSync(path.join(sourceDir, file))), `${copy}/${file} differs from ${source}/${file}: ${hint}`);
      }
    });
  }
});
