import type { ServiceDeclaration } from './declaration';
import type { Runtime } from './runtime';

/** A declared service with its code: how it wires its handlers and routes onto a runtime. */
export interface ServiceDefinition extends ServiceDeclaration {
  /** Registers consumers, admin routes and background work; the runtime starts and stops them. */
  wire(runtime: Runtime): Promise<void> | void;
}
