import { MemoryStockStore } from '../../../workers/inventory/store/memory-stock-store';
import { stockStoreConformance } from '../../conformance/stock-store.conformance';

describe('MemoryStockStore: the InventoryStore conformance suite', () => {
  stockStoreConformance(() => new MemoryStockStore());
});
