// Warren's generated RabbitMQ definitions imported into a real broker: each service user may do what its declaration
// needs and nothing else, and the chart's variants import and log in. One import for the whole suite
// (rabbitmq-permissions/fixture.ts); the steps, in rabbitmq-permissions/, run in this order against it.
import { chartDefinitionSteps } from './rabbitmq-permissions/chart-definition-steps';
import { crossServiceRefusalSteps } from './rabbitmq-permissions/cross-service-refusal-steps';
import { permissionsFixture } from './rabbitmq-permissions/fixture';
import { ownPermissionSteps } from './rabbitmq-permissions/own-permission-steps';

describe('deploy: RabbitMQ definitions enforce least privilege (real broker)', function () {
  this.timeout(60_000);
  const f = permissionsFixture();

  ownPermissionSteps(f);
  crossServiceRefusalSteps(f);
  chartDefinitionSteps(f);
});
