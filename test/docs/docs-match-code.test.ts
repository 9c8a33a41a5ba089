import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../shared/config/config';
import { FLEET_SETTINGS } from '../../shared/config/fleet-settings';
import { INVENTORY_EVENTS } from '../../workers/inventory/events';
import { ORDER_EVENTS } from '../../workers/order/events';
import { PAYMENT_EVENTS } from '../../workers/payment/events';
import { SERVICE_DECLARATIONS } from '../../workers/registry';

const REPO = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');
/** The layer order lint enforces, as .dependency-cruiser.cjs lists it (its LAYERS array, the rules' source of truth). */
const LAYERS = [...(/const LAYERS = \[([^\]]*)\]/.exec(read('.dependency-cruiser.cjs'))?.[1] ?? '').matchAll(/'([a-z]+)'/g)].map(
  (m) => m[1],
);

/** Where a doc restates code and cannot be generated, this checks it still says what the code does. */
describe('docs restate the code: code map, layers and event versions', () => {
  it("docs/design.md's code map names every folder of shared/, in the layer order lint enforces", () => {
    const folders = readdirSync(path.join(REPO, 'shared'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.deepEqual([...folders].sort(), [...LAYERS].sort(), 'every folder of shared/ has its layer, and only those');
    const design = read('docs/design.md');
    const map = design.slice(design.indexOf('\nshared/ '), design.indexOf('\nworkers/'));
    const listed = [...map.matchAll(/^ {2}([a-z]+)\/ {2,}/gm)].map((m) => m[1]);
    assert.deepEqual(listed, LAYERS);
  });

  it("README's event table and docs/design.md give each event type and OrderPlaced's current version", () => {
    const readme = read('README.md');
    // The events of the three services the README is about; a service added later is in docs/asyncapi.yaml (generated).
    for (const type of Object.keys({ ...ORDER_EVENTS, ...INVENTORY_EVENTS, ...PAYMENT_EVENTS }))
      assert.match(readme, new RegExp(`\`${type}\``), `README names ${type}`);
    const current = ORDER_EVENTS.OrderPlaced.version;
    assert.match(readme, new RegExp(`\`OrderPlaced\` \\(v${current};`), 'README: OrderPlaced at its current version');
    assert.match(readme, new RegExp(`upcast to v${current}`));
    assert.match(read('docs/design.md'), new RegExp(`it is\\s+at v${current}`));
    for (const version of Object.keys(ORDER_EVENTS.OrderPlaced.legacy)) assert.match(readme, new RegExp(`v${version}`));
  });

  it("README's configuration table names every shared variable, each at the default the code declares", () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('| variable | default | meaning |'), readme.indexOf('## Tracing'));
    const row = (variable: string) =>
      table.split('\n').find((line) => line.startsWith('| ') && line.split('|')[1]!.includes(`\`${variable}\``));
    for (const variable of CONFIG_VARIABLES) {
      // TLS files and OTEL_* besides the endpoint are described in their own sections, linked from the table.
      if (/_TLS_|^OTEL_(?!EXPORTER_OTLP_ENDPOINT)|^AUTH_(JWKS_URL|AUDIENCE|ISSUER|JWT_SECRET)$/.test(variable)) continue;
      assert.ok(row(variable), `README's configuration table names ${variable}`);
    }
    const shown = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));
    const settings = SERVICE_DECLARATIONS.flatMap((s) => Object.entries(('settings' in s ? s.settings : undefined) ?? {}));
    for (const [variable, spec] of [...Object.entries(FLEET_SETTINGS), ...settings]) {
      // A row naming several variables (REDIS_SENTINELS, REDIS_SENTINEL_NAME) describes them together.
      const line = row(variable);
      if (!line || line.split('|')[1]!.includes(',')) continue;
      const wanted = shown(spec.default);
      const cell = line.split('|')[2]!;
      assert.ok(
        cell.includes(`\`${wanted}\``) || (wanted === '' && /empty/.test(cell)),
        `README: ${variable} defaults to ${wanted}, not ${cell.trim()}`,
      );
    }
  });
});
