import type { KillSwitchSettings, SecretVariable, SettingsSpec } from '../config/config';
import type { CatalogEntry } from '../events/catalog';
import type { Idempotency } from '../messaging/middleware/chain';
import type { QueueSpec } from '../messaging/topology';

// Plain data, importing no runtime: the configuration, the generators and the registry read a declaration without
// pulling in the code that runs it (service.ts adds that).

/**
 * A queue a service consumes: its bindings, and where one queue needs them, overrides of the service-wide consumer
 * settings (docs/operations.md says when to change them).
 */
export interface ConsumedQueue extends QueueSpec {
  /** Unacked deliveries on this queue's consumer. @defaultValue `PREFETCH` */
  prefetch?: number;
  /** This queue's kill switch. @defaultValue `KILL_SWITCH_THRESHOLD`, `KILL_SWITCH_WINDOW_MS`, `KILL_SWITCH_COOLDOWN_MS` */
  killSwitch?: Partial<KillSwitchSettings>;
  /** How its handlers keep a redelivered event from a second effect (`claim` or `atomic`, shared/messaging/middleware/chain.ts). @defaultValue `claim` */
  idempotency?: Idempotency;
}

/** A port a service listens on, and the environment variable that moves it. */
export interface PortDeclaration {
  /** The variable, e.g. `ORDER_OPS_PORT`; an outside contract once released (compose, the chart, operators). */
  env: string;
  /** The port when the variable is unset. */
  default: number;
}

/** An HTTP route a service serves, as `METHOD /path` (for the docs and the chart's notes; routing is in code). */
export type Route = `${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /${string}`;

/**
 * What a service is, as plain data: what it consumes and publishes, and where it listens. Everything outside the
 * process is derived from it (broker users and permissions, ops-port variables, the chart's per-service objects,
 * scrape targets, the container healthcheck, the test fleets), so it holds no code and imports no handler.
 */
export interface ServiceDeclaration<Name extends string = string> {
  /** Lower-case, `[a-z][a-z0-9-]*`: the compose service, the chart component and the `warren-<name>` broker user. */
  name: Name;
  /** One line: what the service does. */
  summary: string;
  /** Queues it consumes, each with the routing keys it binds on the events exchange (retry tiers and DLQ follow). */
  consumes: readonly ConsumedQueue[];
  /**
   * The events it owns and publishes, by type (`defineEvents` in its `events.ts`: schemas, versions, upcasters). Their
   * routing keys are all it may publish on the events exchange: the broker refuses it any other. @defaultValue none
   */
  events?: Readonly<Record<string, CatalogEntry>>;
  /** The ops server: `/healthz`, `/readyz`, `/metrics`, plus `routes` (admin, cluster-internal). */
  ops: PortDeclaration & { routes?: readonly Route[] };
  /** A public HTTP API, if the service takes requests from clients (a Service and a container port of its own). */
  api?: PortDeclaration & { routes: readonly Route[] };
  /**
   * The Redis keys it reads and writes, as ACL patterns after `REDIS_KEY_PREFIX` (`order:*`); its idempotency
   * claims (`idem:<queue>:*` for each queue it consumes) are added. Its Redis user may touch no other key
   * (files/redis/acl.template.json, generated; test/deploy/redis-acl.test.ts). @defaultValue none: a service with no
   * store of its own gets only the runtime's keys (its claims and its /readyz write probe)
   */
  redisKeys?: readonly string[];
  /**
   * Secrets only this service receives (compose and the chart give them to no other service); every service also
   * gets the ops token ({@link FLEET_SECRETS}). @defaultValue none
   */
  secrets?: readonly SecretVariable[];
  /**
   * Its own knobs, by variable: an envalid validator each, with `default` and a one-line `desc`
   * (`ORDER_TIMEOUT_MS: positiveInt({ default: 60000, desc: '...' })`). Read and checked at start-up with the rest of
   * the configuration, handed to its `wire` only; compose passes them to it alone. @defaultValue none
   */
  settings?: SettingsSpec;
}

/** Secrets every service receives: the ops token guards every ops port (required unless AUTH_MODE=off). */
export const FLEET_SECRETS: readonly SecretVariable[] = ['OPS_TOKEN'];

/** The secrets a service receives: those it declares and the fleet's, each once (compose and the chart give these). */
export function secretsOf(service: ServiceDeclaration): SecretVariable[] {
  return [...new Set([...(service.secrets ?? []), ...FLEET_SECRETS])];
}

/** The routing keys a service publishes: those of the events it owns. */
export function publishedKeys(service: ServiceDeclaration): string[] {
  return Object.values(service.events ?? {}).map((event) => event.routingKey);
}
