import { MemoryLedger } from '../../../workers/payment/store/memory-ledger';
import { ledgerConformance } from '../../conformance/ledger.conformance';

describe('MemoryLedger: the PaymentLedger conformance suite', () => {
  ledgerConformance(() => new MemoryLedger());
});
