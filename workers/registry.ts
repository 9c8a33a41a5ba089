import { configVariables, loadConfig, type SettingsOf, type SettingsSpec, type WarrenConfig } from '../shared/config/config';
import type { CatalogEntry, EventType } from '../shared/events/catalog';
import { publishedKeys, type ServiceDeclaration } from '../shared/lifecycle/declaration';
import { bindingMatches } from '../shared/messaging/topology';
import { inventory } from './inventory/service';
import { order } from './order/service';
import { payment } from './payment/service';

/**
 * Every service of the fleet, by its declaration (data only: importing this loads no handler, but registers the
 * events each owns). Adding a service is its folder and a line here; config, broker definitions, compose, the
 * chart, scrape targets, the contract documents and the test fleets follow from the list (`npm run
 * deploy:generate` and `npm run contracts` rewrite the committed files derived from it). Its code is loaded by
 * name from `workers/<name>/main.ts` (services.ts).
 */
export const SERVICE_DECLARATIONS = [order, inventory, payment] as const satisfies readonly ServiceDeclaration[];

export type ServiceName = (typeof SERVICE_DECLARATIONS)[number]['name'];
export const SERVICE_NAMES: readonly ServiceName[] = SERVICE_DECLARATIONS.map((s) => s.name);

export function declarationOf(name: ServiceName): ServiceDeclaration {
  return SERVICE_DECLARATIONS.find((s) => s.name === name)!;
}

/** Every event of the fleet, by type: the events each service owns. */
export const FLEET_EVENTS: Readonly<Record<EventType, CatalogEntry>> = Object.fromEntries(
  SERVICE_DECLARATIONS.flatMap((s) => Object.entries(s.events ?? {})),
) as Record<EventType, CatalogEntry>;

export const FLEET_EVENT_TYPES = Object.keys(FLEET_EVENTS) as EventType[];

type Declared<N extends ServiceName> = Extract<(typeof SERVICE_DECLARATIONS)[number], { name: N }>;
type DeclaredSettings<N extends ServiceName> =
  Declared<N> extends { settings: infer S extends SettingsSpec } ? SettingsOf<S> : Record<string, never>;

/** A service's own settings in a loaded configuration, typed from its declaration (what its `wire` receives). */
export function settingsOf<N extends ServiceName>(config: WarrenConfig, name: N): DeclaredSettings<N> {
  return (config.settings[name] ?? {}) as DeclaredSettings<N>;
}

/** The environment variables the fleet reads: the shared ones, each service's ports and each service's settings. */
export const FLEET_CONFIG_VARIABLES: readonly string[] = configVariables(SERVICE_DECLARATIONS);

/** {@link loadConfig} with every declared service's ports and settings. */
export function loadFleetConfig(env: Record<string, string | undefined> = process.env): WarrenConfig {
  return loadConfig(env, SERVICE_DECLARATIONS);
}

/**
 * The routing keys the fleet publishes that no queue of the fleet binds: a new service's events before any consumer
 * exists. Its publisher sends them without `mandatory` (the broker drops what has nowhere to go) instead of
 * failing every publish; every key some queue binds stays mandatory.
 */
export function unconsumedKeys(services: readonly ServiceDeclaration[] = SERVICE_DECLARATIONS): string[] {
  const bindings = services.flatMap((s) => s.consumes.flatMap((q) => q.bindings));
  return services.flatMap((s) => publishedKeys(s)).filter((key) => !bindings.some((pattern) => bindingMatches(pattern, key)));
}

/** The fleet's consumer queues: every one has a `<queue>.dlq` for the DLQ tool. */
export function fleetQueues(): string[] {
  return SERVICE_DECLARATIONS.flatMap((s) => s.consumes.map((q) => q.name));
}
