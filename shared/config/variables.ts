import { AUTH_VARIABLES } from './auth-config';
import { ConfigError } from './config-error';
import { FLEET_SETTINGS } from './fleet-settings';
import { settingVariables, type ServiceSettings } from './settings';
import { TLS_VARIABLES } from './tls-files';
import { TRACING_VARIABLES } from './tracing-config';

// The environment variables Warren reads, as lists: what compose, the chart and the tests check they pass.

/** What config needs of a service: the variables of its ports and of its own settings, from its declaration. */
export interface ServicePorts extends ServiceSettings {
  name: string;
  ops: { env: string; default: number };
  api?: { env: string; default: number };
}

/**
 * The variables every service reads, whatever the fleet; {@link configVariables} adds the services' ports and
 * settings (a service's own knobs, such as ORDER_TIMEOUT_MS, are declared with it: workers/<name>/service.ts).
 */
export const CONFIG_VARIABLES: readonly string[] = [
  ...(Object.keys(FLEET_SETTINGS) as (keyof typeof FLEET_SETTINGS)[]),
  ...TRACING_VARIABLES,
  ...AUTH_VARIABLES,
  'PRICE_LIST',
  ...TLS_VARIABLES,
];

/**
 * Secrets only the services that declare them receive (a declaration's `secrets`), never the whole fleet: the
 * payment-token keys are held by order (which seals) and payment (which opens), not by inventory.
 */
export const SECRET_VARIABLES = ['PAYMENT_TOKEN_KEYS', 'AUTH_JWT_SECRET', 'OPS_TOKEN'] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/** The environment variables a fleet of these services reads: the chart and the compose file must name no others. */
export function configVariables(services: readonly ServicePorts[]): string[] {
  return [...CONFIG_VARIABLES, ...portVariables(services).map((p) => p.env), ...settingVariables(services)];
}

interface PortVariable {
  service: string;
  kind: 'ops' | 'api';
  env: string;
  default: number;
}

/** Every declared port variable; two services (or a shared variable) claiming one name is a configuration error. */
export function portVariables(services: readonly ServicePorts[]): PortVariable[] {
  const ports = services.flatMap(({ name, ops, api }) => [
    { service: name, kind: 'ops' as const, ...ops },
    ...(api ? [{ service: name, kind: 'api' as const, ...api }] : []),
  ]);
  const seen = new Set<string>(CONFIG_VARIABLES);
  for (const service of services) {
    for (const variable of Object.keys(service.settings ?? {})) {
      if (seen.has(variable)) throw new ConfigError(`Invalid configuration: ${variable}: declared twice (service ${service.name})`);
      seen.add(variable);
    }
  }
  for (const port of ports) {
    if (seen.has(port.env)) throw new ConfigError(`Invalid configuration: ${port.env}: declared twice (service ${port.service})`);
    seen.add(port.env);
  }
  return ports.map(({ service, kind, env, default: d }) => ({ service, kind, env, default: d }));
}
