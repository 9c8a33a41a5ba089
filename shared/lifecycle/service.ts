import type { FastifyInstance } from 'fastify';
import type { SettingsOf } from '../config/config';
import type { ServiceDeclaration } from './declaration';
import type { Runtime } from './runtime';

/**
 * A declared service with its code: how it wires its handlers and routes onto a runtime. `workers/<name>/main.ts`
 * exports it as `service`.
 */
export interface ServiceDefinition<D extends ServiceDeclaration = ServiceDeclaration> extends ServiceDeclaration {
  /**
   * Registers consumers, admin routes and background work; the runtime starts and stops them. `settings` are the
   * declaration's own, read and validated (WarrenConfig's `settings` of this service).
   */
  wire(runtime: Runtime, settings: SettingsOf<D['settings']>): Promise<void> | void;
  /**
   * Registers its admin routes (`ops.routes`) on a bare server with stand-ins for their dependencies
   * (shared/documents/described-only.ts), so that `npm run contracts` can describe them. @defaultValue none: no admin routes
   */
  describeOps?(app: FastifyInstance): void;
}
