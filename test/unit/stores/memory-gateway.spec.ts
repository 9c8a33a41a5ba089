import { MemoryGateway } from '../../../workers/payment/gateway/memory-gateway';
import { gatewayConformance } from '../../conformance/gateway.conformance';

describe('MemoryGateway: the simulated provider conformance suite', () => {
  gatewayConformance((options) => new MemoryGateway(options));
});
