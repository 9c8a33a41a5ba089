import { MemoryOrderStore } from '../../../workers/order/store/memory-order-store';
import { sagaStoreConformance } from '../../conformance/saga-store.conformance';

describe('MemoryOrderStore: the SagaStore conformance suite', () => {
  sagaStoreConformance(() => new MemoryOrderStore());
});
