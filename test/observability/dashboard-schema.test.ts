import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDashboard } from '@grafana/schema';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { loadDashboards } from './prometheus-harness';

/**
 * Every shipped dashboard against Grafana's own schema: the types Grafana generates from its dashboard and panel
 * CUE kinds and publishes as @grafana/schema (the devDependency's version is the Grafana image compose ships).
 * The types are turned into JSON Schemas here, at test time, from the installed package: closed objects, enums and
 * required fields as Grafana declares them, so an unknown or misspelt key, a wrong type or an unknown enum value
 * fails with its JSON pointer. What this does not prove is in docs/observability.md#dashboards.
 */
const PACKAGE_DIR = path.dirname(require.resolve('@grafana/schema/package.json'));
const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
const RAW = path.join(PACKAGE_DIR, 'dist/types/raw');
const DASHBOARD_TYPES = path.join(RAW, 'dashboard/x/types.gen.d.ts');
const COMMON_TYPES = path.join(PACKAGE_DIR, 'dist/types/common/common.gen.d.ts');
/** A panel plugin's options and field config, as Grafana's core panel kinds declare them. */
const panelTypes = (panel: string) => path.join(RAW, 'composable', panel, 'panelcfg/x/types.gen.d.ts');

const ajv = new Ajv({ allErrors: true, strict: false });

/** A validator for one exported type of a @grafana/schema declaration file. `open` leaves objects open. */
function validatorOf(file: string, type: string, open = false): ValidateFunction {
  const schema = createGenerator({
    path: file,
    type,
    skipTypeCheck: true,
    topRef: true,
    expose: 'export',
    additionalProperties: open,
  }).createSchema(type);
  return ajv.compile(schema);
}

const exportsType = (file: string, type: string) => new RegExp(`^export (interface|type) ${type}\\b`, 'm').test(readFileSync(file, 'utf8'));

/** Ajv's errors as `pointer message`, without the anyOf noise that repeats the same failure. */
function problems(validate: ValidateFunction, where: string): string[] {
  return (validate.errors ?? [])
    .filter((e: ErrorObject) => e.keyword !== 'anyOf')
    .map(
      (e: ErrorObject) =>
        `${where}${e.instancePath} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
}

interface Panel {
  type: string;
  title?: string;
  options?: unknown;
  fieldConfig?: { defaults?: { custom?: unknown } };
  targets?: unknown[];
  panels?: Panel[];
}

describe(`dashboards against Grafana's dashboard schema (@grafana/schema ${PACKAGE_VERSION})`, function () {
  // Generating the schemas runs the TypeScript compiler over the package's declarations: a few seconds.
  this.timeout(120_000);

  let dashboards: Awaited<ReturnType<typeof loadDashboards>>;
  let dashboard: ValidateFunction;
  let query: ValidateFunction;
  const panelValidators = new Map<string, { options: ValidateFunction; custom?: ValidateFunction }>();

  /** Options and field config validators of a panel type, or a failure naming a type Grafana has no kind for. */
  function panelValidator(type: string): { options: ValidateFunction; custom?: ValidateFunction } {
    let found = panelValidators.get(type);
    if (found) return found;
    const file = panelTypes(type);
    assert.ok(existsSync(file), `panel type "${type}": @grafana/schema ${PACKAGE_VERSION} has no panel kind of that name (${file})`);
    found = {
      options: validatorOf(file, 'Options'),
      ...(exportsType(file, 'FieldConfig') ? { custom: validatorOf(file, 'FieldConfig') } : {}),
    };
    panelValidators.set(type, found);
    return found;
  }

  before(async () => {
    dashboards = await loadDashboards();
    assert.ok(dashboards.length > 0, 'no dashboard found');
    dashboard = validatorOf(DASHBOARD_TYPES, 'Dashboard');
    // A query's common part (refId, hide, datasource, ...); the rest is the Prometheus data source's own, proven
    // by running every expression against a real Prometheus (prometheus.test.ts).
    query = validatorOf(COMMON_TYPES, 'DataQuery', true);
  });

  it('the check rejects what it claims to: an unknown key, a wrong type, an unknown enum value, a missing field', () => {
    const { dashboard: sample } = dashboards[0]!;
    const broken = structuredClone(sample) as Record<string, any>;
    broken['refreshInterval'] = '30s';
    const panel = (broken['panels'] as Record<string, any>[]).find((p) => p['type'] === 'timeseries')!;
    panel['gridPos'] = { ...panel['gridPos'], w: '12' };
    delete panel['type'];
    assert.equal(dashboard(broken), false);
    const found = problems(dashboard, '').join('\n');
    for (const expected of ['refreshInterval', '/gridPos/w must be number', "required property 'type'"])
      assert.match(found, new RegExp(expected));

    const timeseries = panelValidator('timeseries');
    assert.equal(
      timeseries.options({
        legend: { showLegend: true, displayMode: 'tabel', placement: 'bottom', calcs: [] },
        tooltip: { mode: 'multi', sort: 'desc' },
      }),
      false,
    );
    assert.match(problems(timeseries.options, '').join('\n'), /\/legend\/displayMode must be equal to one of the allowed values/);
    assert.equal(timeseries.custom!({ drawStyle: 'line', fillOpacity: 'ten' }), false);
  });

  it('every dashboard is a valid Grafana dashboard (the classic JSON model), no newer than the schema', () => {
    const failures: string[] = [];
    const latest = defaultDashboard.schemaVersion ?? 0;
    for (const { file, dashboard: model } of dashboards) {
      if (!dashboard(model)) failures.push(...problems(dashboard, file));
      const version = (model as { schemaVersion?: number }).schemaVersion ?? 0;
      // Older is fine (Grafana migrates a dashboard's model when it loads it); newer than the schema is not.
      if (version > latest) failures.push(`${file}: schemaVersion ${version} is newer than @grafana/schema ${PACKAGE_VERSION}'s ${latest}`);
      console.log(`      ${file}: schemaVersion ${version} (Grafana ${PACKAGE_VERSION} migrates up to ${latest} on load)`);
    }
    assert.deepEqual(failures, []);
  });

  it("every panel's options and field config match its panel kind, and every query's common fields", () => {
    const failures: string[] = [];
    const counts = new Map<string, number>();
    for (const { file, dashboard: model } of dashboards) {
      const panels = ((model as { panels?: Panel[] }).panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
      for (const [index, panel] of panels.entries()) {
        if (panel.type === 'row') continue;
        const where = `${file} "${panel.title ?? `#${index}`}" (${panel.type})`;
        counts.set(panel.type, (counts.get(panel.type) ?? 0) + 1);
        const { options, custom } = panelValidator(panel.type);
        if (!options(panel.options ?? {})) failures.push(...problems(options, `${where} options`));
        const customConfig = panel.fieldConfig?.defaults?.custom;
        if (custom) {
          if (!custom(customConfig ?? {})) failures.push(...problems(custom, `${where} fieldConfig.defaults.custom`));
        } else if (customConfig !== undefined) {
          failures.push(`${where}: fieldConfig.defaults.custom is set, but the ${panel.type} kind has no field config`);
        }
        for (const [t, target] of (panel.targets ?? []).entries())
          if (!query(target)) failures.push(...problems(query, `${where} targets/${t}`));
      }
    }
    console.log(`      panels checked: ${[...counts].map(([type, n]) => `${n} ${type}`).join(', ')}`);
    assert.deepEqual(failures, []);
  });
});
