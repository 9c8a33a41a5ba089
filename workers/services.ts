import type pino from 'pino';
import type { WarrenConfig } from '../shared/config/config';
import { Runtime } from '../shared/lifecycle/runtime';
import type { ServiceDefinition } from '../shared/lifecycle/service';
import { inventoryService } from './inventory/main';
import { orderService } from './order/main';
import { paymentService } from './payment/main';
import type { ServiceName } from './registry';

/** Each declared service with its code; the type makes a declaration without a `wire` a compile error. */
export const SERVICES: Record<ServiceName, ServiceDefinition> = {
  order: orderService,
  inventory: inventoryService,
  payment: paymentService,
};

/** Builds a service's runtime, wires its handlers and routes, and waits until it consumes. */
export async function startService(
  name: ServiceName,
  config: WarrenConfig,
  options: { logDestination?: pino.DestinationStream } = {},
): Promise<Runtime> {
  const definition = SERVICES[name];
  const opsPort = config.opsPorts[name];
  if (opsPort === undefined)
    throw new Error(`no ops port configured for ${name}: load the config with the fleet's declarations (loadFleetConfig)`);
  const apiPort = config.apiPorts[name];
  const runtime = new Runtime(config, {
    service: name,
    queues: definition.consumes,
    opsPort,
    ...(apiPort === undefined ? {} : { apiPort }),
    ...options,
  });
  try {
    await definition.wire(runtime);
    await runtime.start();
  } catch (error) {
    await runtime.stop().catch(() => undefined);
    throw error;
  }
  return runtime;
}
