import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { renderAll } from './chart-renders';
import { byKind, REPO, type Manifest } from './tools';

const CHART_FILES = 'deploy/helm/warren/files';

/** The files of a chart folder matching `pattern`; none when the folder is missing, which the test then names. */
const filesIn = (dir: string, pattern: RegExp): string[] => {
  try {
    return readdirSync(path.join(REPO, dir)).filter((f) => pattern.test(f));
  } catch {
    return [];
  }
};

// The chart ships the repository's dashboards and alert rules unchanged, and the scrape jobs those rules select
// exist under the same names in Kubernetes.
describe('deploy: Helm chart', function () {
  this.timeout(60_000);
  let rendered: Record<string, Manifest[]> = {};

  before(async () => {
    rendered = await renderAll();
  });

  it('ships every dashboard as a sidecar ConfigMap and every rules file as a PrometheusRule, content unchanged', () => {
    const manifests = rendered['all features, HPA, external broker'] ?? [];
    const dashboards = filesIn(`${CHART_FILES}/dashboards`, /\.json$/);
    const rules = filesIn(`${CHART_FILES}/rules`, /\.ya?ml$/);
    console.log(`      shipped: ${dashboards.length} dashboards, ${rules.length} rules files`);
    assert.ok(dashboards.length > 0 && rules.length > 0, `${CHART_FILES}/dashboards and rules must not be empty`);
    const dashboardMaps = byKind(manifests, 'ConfigMap').filter((m) => m.metadata.labels?.['grafana_dashboard'] === '1');
    assert.deepEqual(dashboardMaps.flatMap((m) => Object.keys(m.data ?? {})).sort(), [...dashboards].sort());
    for (const file of dashboards) {
      const shipped = dashboardMaps.find((m) => m.data?.[file] !== undefined)?.data?.[file] ?? '';
      assert.deepEqual(JSON.parse(shipped), JSON.parse(readFileSync(path.join(REPO, CHART_FILES, 'dashboards', file), 'utf8')), file);
    }
    const prometheusRules = byKind(manifests, 'PrometheusRule');
    const shippedGroups = prometheusRules.flatMap((r) => r.spec.groups);
    const sourceGroups = rules.flatMap((file) => parseYaml(readFileSync(path.join(REPO, CHART_FILES, 'rules', file), 'utf8')).groups);
    assert.equal(prometheusRules.length, rules.length);
    assert.deepEqual(shippedGroups, sourceGroups);
    // Rules that select a scrape job must find it under the same name in Kubernetes (ServiceMonitor relabelings).
    const keda = rendered['all features, KEDA, RabbitmqCluster'] ?? [];
    const jobs = new Set(
      byKind(keda, 'ServiceMonitor').flatMap((sm) =>
        sm.spec.endpoints.flatMap((e: any) =>
          (e.relabelings ?? []).filter((r: any) => r.targetLabel === 'job').map((r: any) => r.replacement),
        ),
      ),
    );
    const wanted = new Set([...JSON.stringify(sourceGroups).matchAll(/job=\\"([^\\"]+)\\"/g)].map((m) => m[1]));
    console.log(`      rules select jobs ${JSON.stringify([...wanted])}; ServiceMonitors produce ${JSON.stringify([...jobs])}`);
    for (const job of wanted) assert.ok(jobs.has(job), `rules select job="${job}", which no ServiceMonitor produces`);
  });
});
