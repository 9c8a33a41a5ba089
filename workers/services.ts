import type pino from 'pino';
import type { WarrenConfig } from '../shared/config/config';
import { Runtime } from '../shared/lifecycle/runtime';
import { publishedKeys } from '../shared/lifecycle/declaration';
import type { ServiceDefinition } from '../shared/lifecycle/service';
import { declarationOf, unconsumedKeys, type ServiceName } from './registry';

/**
 * A service's code, from `workers/<name>/main.ts`, which exports it as `service` (README, "Adding a service").
 * Loaded by name rather than listed here, so a new service is its folder and its line in registry.ts; a main.ts
 * that exports no `service`, or one for another declaration, is refused with the file's name.
 */
export function loadService(name: ServiceName): ServiceDefinition {
  const file = `workers/${name}/main.ts`;
  // require, not import(): under `module: node16` an import() stays an ES module import, which resolves neither the
  // .ts sources the tests run nor an extension-less path. The name is a registered one, never user input.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(`./${name}/main`) as { service?: Partial<ServiceDefinition> };
  const service = loaded.service;
  if (typeof service?.wire !== 'function') throw new Error(`${file} must export \`service\` ({ ...declaration, wire(runtime) })`);
  if (service.name !== name) throw new Error(`${file} exports the service ${String(service.name)}, not ${name}`);
  return { ...declarationOf(name), ...service } as ServiceDefinition;
}

/** Builds a service's runtime, wires its handlers and routes, and waits until it consumes. */
export async function startService(
  name: ServiceName,
  config: WarrenConfig,
  options: { logDestination?: pino.DestinationStream } = {},
): Promise<Runtime> {
  const definition = loadService(name);
  const opsPort = config.opsPorts[name];
  if (opsPort === undefined)
    throw new Error(`no ops port configured for ${name}: load the config with the fleet's declarations (loadFleetConfig)`);
  const apiPort = config.apiPorts[name];
  const unconsumed = unconsumedKeys().filter((key) => publishedKeys(definition).includes(key));
  const runtime = new Runtime(config, {
    service: name,
    queues: definition.consumes,
    opsPort,
    ...(apiPort === undefined ? {} : { apiPort }),
    ...(unconsumed.length > 0 ? { unconsumedKeys: unconsumed } : {}),
    ...options,
  });
  try {
    await definition.wire(runtime, (config.settings[name] ?? {}) as never);
    await runtime.start();
  } catch (error) {
    await runtime.stop().catch(() => undefined);
    throw error;
  }
  return runtime;
}
