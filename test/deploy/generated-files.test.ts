import assert from 'node:assert/strict';
import { SERVICE_DECLARATIONS } from '../../workers/registry';
import { renderAll } from '../../deploy/generate/artifacts';

/**
 * The files derived from workers/registry.ts are committed (Helm, compose and the image read them as they are):
 * this fails while any of them differs from what `npm run deploy:generate` would write.
 */
describe('deploy: files generated from the service declarations are up to date', () => {
  for (const file of renderAll(SERVICE_DECLARATIONS)) {
    it(file.path, () => {
      assert.ok(file.current.length > 0, `${file.path} is missing: run npm run deploy:generate`);
      assert.ok(file.current === file.wanted, `${file.path} is stale: run npm run deploy:generate and commit the result`);
    });
  }

  it('would report every file stale were a service removed from the registry', () => {
    const stale = renderAll(SERVICE_DECLARATIONS.filter((s) => s.name !== 'payment')).filter((f) => f.current !== f.wanted);
    assert.deepEqual(
      stale.map((f) => f.path),
      renderAll(SERVICE_DECLARATIONS).map((f) => f.path),
    );
  });
});
