import { configVariables, loadConfig, type WarrenConfig } from '../shared/config/config';
import type { ServiceDeclaration } from '../shared/lifecycle/declaration';
import { inventory } from './inventory/service';
import { order } from './order/service';
import { payment } from './payment/service';

/**
 * Every service of the fleet, by its declaration (data only: importing this loads no handler). Adding a service
 * is a line here; config, broker definitions, the chart, scrape targets and test fleets follow from the list
 * (`npm run deploy:generate` rewrites the committed files derived from it).
 */
export const SERVICE_DECLARATIONS = [order, inventory, payment] as const satisfies readonly ServiceDeclaration[];

export type ServiceName = (typeof SERVICE_DECLARATIONS)[number]['name'];
export const SERVICE_NAMES: readonly ServiceName[] = SERVICE_DECLARATIONS.map((s) => s.name);

/** The environment variables the fleet reads: the shared ones and each service's ports. */
export const FLEET_CONFIG_VARIABLES: readonly string[] = configVariables(SERVICE_DECLARATIONS);

/** {@link loadConfig} with every declared service's ops port. */
export function loadFleetConfig(env: Record<string, string | undefined> = process.env): WarrenConfig {
  return loadConfig(env, SERVICE_DECLARATIONS);
}

/** The fleet's consumer queues: every one has a `<queue>.dlq` for the DLQ tool. */
export function fleetQueues(): string[] {
  return SERVICE_DECLARATIONS.flatMap((s) => s.consumes.map((q) => q.name));
}
