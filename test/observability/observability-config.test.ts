import assert from 'node:assert/strict';
import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadDashboards, PROMETHEUS_DIR, promtool, RULES_DIR, ROOT } from './prometheus-harness';
import { SERVICE_DECLARATIONS } from '../../workers/registry';

// What can be checked of the shipped Prometheus config, alert rules and dashboards without a fleet: promtool's own
// checks and rule unit tests, each alert's annotations and runbook, and the dashboards' JSON model. The same rules and
// panels run against a real Prometheus scraping a fleet in prometheus.test.ts.
describe('observability config: promtool and the dashboard model', function () {
  this.timeout(60_000);

  it('the shipped config scrapes the compose fleet: order:9101, inventory:9102, payment:9103 and rabbitmq:15692 per object', async () => {
    const config = parseYaml(await readFile(path.join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Record<string, any>[];
    };
    const job = (name: string) => config.scrape_configs.find((c) => c['job_name'] === name)!;
    const warren = (job('warren')['dns_sd_configs'] as { names: string[]; port: number }[]).map((d) => `${d.names.join(',')}:${d.port}`);
    assert.deepEqual(warren.slice(0, 3), ['order:9101', 'inventory:9102', 'payment:9103']);
    assert.deepEqual(
      warren,
      SERVICE_DECLARATIONS.map((s) => `${s.name}:${s.ops.default}`),
      'one target per service of the registry',
    );
    assert.equal(job('rabbitmq')['metrics_path'], '/metrics/per-object');
    assert.deepEqual(job('rabbitmq')['static_configs'][0].targets, ['rabbitmq:15692']);
  });

  it('promtool check config, check rules and test rules pass', async () => {
    const config = await promtool('check', 'config', path.join(PROMETHEUS_DIR, 'prometheus.yml'));
    const rules = await promtool('check', 'rules', ...(await ruleFiles()));
    const tests = await promtool('test', 'rules', ...(await testFiles()));
    for (const out of [config, rules, tests]) assert.match(out, /SUCCESS/);
    console.log(
      `      ${[config, rules, tests]
        .join('')
        .trim()
        .split('\n')
        .filter((l) => /SUCCESS|rules found/.test(l))
        .map((l) => l.trim())
        .join('\n      ')}`,
    );
  });

  it('every alert has a summary, a description and a runbook anchor in docs/operations.md named after it', async () => {
    const raw = await Promise.all(
      (await ruleFiles()).map(async (f) => parseYaml(await readFile(f, 'utf8')) as { groups: { rules: Record<string, any>[] }[] }),
    );
    const alerts = raw.flatMap((d) => d.groups.flatMap((g) => g.rules)).filter((r) => r['alert']);
    const names = alerts.map((a) => a['alert'] as string);
    for (const required of [
      'WarrenDeadLetterQueueGrowing',
      'WarrenHighRetryRate',
      'WarrenConsumerAbsent',
      'WarrenPublishConfirmSlow',
      'WarrenEventLagHigh',
      'WarrenSagaTimeouts',
      'WarrenApiErrorRatio',
      'WarrenHandlerErrorRatio',
      'WarrenServiceNotReady',
      'WarrenServiceDown',
    ]) {
      assert.ok(names.includes(required), `missing alert ${required}`);
    }
    const doc = await readFile(path.join(ROOT, 'docs/operations.md'), 'utf8');
    for (const a of alerts) {
      assert.ok(a['annotations']?.summary && a['annotations']?.description, `${a['alert']} lacks summary or description`);
      assert.equal(a['annotations'].runbook_url, `docs/operations.md#runbook-${String(a['alert']).toLowerCase()}`);
      assert.ok(doc.includes(`Runbook: ${a['alert']}`), `docs/operations.md has no "Runbook: ${a['alert']}" section`);
    }
  });

  it("dashboards follow Grafana's classic JSON model: uid, schemaVersion, datasource by uid variable, a 24-column grid, variables for service and queue", async () => {
    const dashboards = await loadDashboards();
    assert.deepEqual(dashboards.map((d) => d.dashboard.title).sort(), ['Warren fleet overview', 'Warren order flow']);
    for (const { file, dashboard } of dashboards) {
      assert.match(dashboard.uid, /^[a-z0-9-]{8,40}$/, file);
      assert.ok(dashboard.schemaVersion >= 39 && dashboard.schemaVersion <= 41, `${file} schemaVersion ${dashboard.schemaVersion}`);
      const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      assert.equal(vars.get('datasource')?.type, 'datasource', file);
      for (const name of ['service', 'queue']) assert.equal(vars.get(name)?.type, 'query', `${file} variable ${name}`);
      const ids = new Set<number>();
      for (const p of dashboard.panels) {
        assert.ok(!ids.has(p.id), `${file}: duplicate panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(['row', 'timeseries', 'stat'].includes(p.type), `${file}: ${p.title} is ${p.type}`);
        assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0, `${file}: ${p.title} gridPos`);
        if (p.type === 'row') continue;
        assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${file}: ${p.title} datasource`);
        assert.ok(p.targets && p.targets.length > 0, `${file}: ${p.title} has no query`);
        for (const t of p.targets)
          assert.ok(t.refId && t.expr && t.datasource?.uid === '${datasource}', `${file}: ${p.title} target ${t.refId}`);
      }
    }
    const compose = path.join(ROOT, 'docker-compose.yml');
    if (await exists(compose)) {
      // The provisioning provider reads the dashboards where the compose file mounts them.
      const provider = parseYaml(await readFile(path.join(ROOT, 'deploy/grafana/provisioning/dashboards/warren.yml'), 'utf8')) as {
        providers: { options: { path: string } }[];
      };
      const composeText = await readFile(compose, 'utf8');
      assert.ok(
        composeText.includes(`./deploy/helm/warren/files/dashboards:${provider.providers[0]!.options.path}`),
        'docker-compose.yml mounts the dashboards elsewhere than the provider reads them',
      );
    }
  });
});

async function ruleFiles(): Promise<string[]> {
  const dir = RULES_DIR;
  return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
}

async function testFiles(): Promise<string[]> {
  const dir = path.join(PROMETHEUS_DIR, 'tests');
  return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
