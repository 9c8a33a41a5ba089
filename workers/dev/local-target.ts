/**
 * Which URLs a throwaway container can stand in for: a single node of the expected scheme on this machine. Anything
 * else (another host, a cluster, TLS) is left to the services, which report a broker they cannot reach better than a
 * guess would.
 */
import type { ServiceSpec } from './service-specs';

export interface Target {
  host: string;
  port: number;
  /** The host address to publish the container's port on, so that this URL reaches it. */
  bind: string;
}

/**
 * host:port of a single-node URL of the expected scheme on this machine; undefined for anything a throwaway
 * container could not stand in for, which is then left to the services to report.
 */
export function localTarget(spec: ServiceSpec, url: string): Target | undefined {
  // A node list is a cluster (docs/deploy.md), and amqps/rediss need certificates: not a laptop's throwaway broker.
  if (url.includes(',')) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // the service's config check names a malformed URL better
  }
  if (parsed.protocol !== spec.protocol) return undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port ? Number(parsed.port) : spec.defaultPort;
  const bind = host === 'localhost' ? '127.0.0.1' : /^127\.\d+\.\d+\.\d+$/.test(host) ? host : host === '::1' ? '[::1]' : undefined;
  return bind === undefined ? undefined : { host, port, bind };
}
