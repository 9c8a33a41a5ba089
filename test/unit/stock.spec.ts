import assert from 'node:assert/strict';
import { mergeLines } from '../../workers/inventory/domain/stock';

describe('stock arithmetic', () => {
  it('merges repeated lines of one product', () => {
    assert.deepEqual(
      mergeLines([
        { productId: 'A', quantity: 1 },
        { productId: 'B', quantity: 2 },
        { productId: 'A', quantity: 3 },
      ]),
      [
        { productId: 'A', quantity: 4 },
        { productId: 'B', quantity: 2 },
      ],
    );
  });
});
