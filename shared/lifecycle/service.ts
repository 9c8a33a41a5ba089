import type { QueueSpec } from '../messaging/topology';
import type { Runtime } from './runtime';

/**
 * A Warren service: the queues it consumes and how it wires its handlers and routes onto a runtime.
 * A new worker is one folder exporting one of these.
 */
export interface ServiceDefinition {
  name: string;
  queues: readonly QueueSpec[];
  /** Registers consumers, admin routes and background work; the runtime starts and stops them. */
  wire(runtime: Runtime): Promise<void> | void;
}
