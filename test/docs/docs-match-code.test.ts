import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FLEET_EVENT_TYPES } from '../../workers/registry';
import { ORDER_EVENTS } from '../../workers/order/events';

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
    for (const type of FLEET_EVENT_TYPES) assert.match(readme, new RegExp(`\`${type}\``), `README names ${type}`);
    const current = ORDER_EVENTS.OrderPlaced.version;
    assert.match(readme, new RegExp(`\`OrderPlaced\` \\(v${current};`), 'README: OrderPlaced at its current version');
    assert.match(readme, new RegExp(`upcast to v${current}`));
    assert.match(read('docs/design.md'), new RegExp(`it is\\s+at v${current}`));
    for (const version of Object.keys(ORDER_EVENTS.OrderPlaced.legacy)) assert.match(readme, new RegExp(`v${version}`));
  });
});
