import type { ServiceDefinition } from '../../shared/lifecycle/service';
import { onOrderConfirmed } from './handlers/order-confirmed';
import { PARCEL_FIXTURE_QUEUE, parcelFixture } from './service';

/** Books a parcel for every confirmed order. */
export const service: ServiceDefinition = {
  ...parcelFixture,
  wire(runtime) {
    runtime.consume(PARCEL_FIXTURE_QUEUE, { OrderConfirmed: onOrderConfirmed('fixture-post') });
  },
};
