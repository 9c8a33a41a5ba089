import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { SERVICE_DECLARATIONS } from '../../workers/registry';
import { freePort } from './ports';

/** Where a test fleet listens: the variables that put each declared port on a free one, and the URLs. */
export interface FleetPorts<Name extends string = string> {
  /** `ORDER_OPS_PORT`, `ORDER_HTTP_PORT`, ...: one entry per declared port. */
  env: Record<string, string>;
  /** The public API (the first service that declares one). */
  api: string;
  /** Each service's ops server. */
  ops: Record<Name, string>;
}

/** Free ports for every port the services declare, so fleets of one run side by side. */
export async function fleetPorts<Name extends string>(services: readonly ServiceDeclaration<Name>[]): Promise<FleetPorts<Name>> {
  const env: Record<string, string> = {};
  const ops = {} as Record<Name, string>;
  let api = '';
  for (const service of services) {
    const opsPort = await freePort();
    env[service.ops.env] = String(opsPort);
    ops[service.name] = `http://127.0.0.1:${opsPort}`;
    if (service.api) {
      const apiPort = await freePort();
      env[service.api.env] = String(apiPort);
      api ||= `http://127.0.0.1:${apiPort}`;
    }
  }
  return { env, api, ops };
}

/**
 * The order to start services in: consumers first, services with a public API last, so that the first order
 * taken finds every queue bound.
 */
export function startOrder<Name extends string>(
  names: readonly Name[],
  services: readonly ServiceDeclaration[] = SERVICE_DECLARATIONS,
): Name[] {
  const hasApi = (name: Name) => Number(services.some((s) => s.name === name && s.api !== undefined));
  return [...names].sort((a, b) => hasApi(a) - hasApi(b));
}
