import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { PARCEL_FIXTURE_EVENTS } from './events';

export const PARCEL_FIXTURE_QUEUE = 'warren.parcel-fixture';

/** Books a parcel for every confirmed order (the service test/new-service adds to a copy of the tree). */
export const parcelFixture = {
  name: 'parcel-fixture',
  summary: 'books a parcel for every confirmed order',
  consumes: [{ name: PARCEL_FIXTURE_QUEUE, bindings: ['order.confirmed'] }],
  events: PARCEL_FIXTURE_EVENTS,
  ops: { env: 'PARCEL_FIXTURE_OPS_PORT', default: 9188 },
} as const satisfies ServiceDeclaration;
