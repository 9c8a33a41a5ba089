import type pino from 'pino';
import type { ServiceName, WarrenConfig } from '../shared/config/config';
import { Runtime } from '../shared/lifecycle/runtime';
import type { ServiceDefinition } from '../shared/lifecycle/service';
import { inventoryService } from './inventory/main';
import { orderService } from './order/main';
import { paymentService } from './payment/main';

export const SERVICES: Record<ServiceName, ServiceDefinition> = {
  order: orderService,
  inventory: inventoryService,
  payment: paymentService,
};

/** Builds a service's runtime, wires its handlers and routes, and waits until it consumes. */
export async function startService(name: ServiceName, config: WarrenConfig, options: { logDestination?: pino.DestinationStream } = {}): Promise<Runtime> {
  const definition = SERVICES[name];
  const runtime = new Runtime(config, { service: name, queues: definition.queues, opsPort: config.opsPorts[name], ...options });
  try {
    await definition.wire(runtime);
    await runtime.start();
  } catch (error) {
    await runtime.stop().catch(() => undefined);
    throw error;
  }
  return runtime;
}
