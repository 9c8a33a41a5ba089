import type { Channel } from 'amqplib';
import { failuresExchangeName, planTopology, type QueueDeclaration, type Topology } from './topology';

/**
 * The topology is the operator's (docs/security.md): `npm run topology -- apply`, compose's `topology` one-shot or
 * the chart's job declare it with the operator's credentials, and a service's broker user has no configure
 * permission at all, so it can neither delete the events exchange nor route it into a queue or exchange of its own.
 * A service only looks (passive declares: an exchange's needs no permission, a queue's read on it from RabbitMQ 4,
 * which each service has on its own queues), and declares what is missing only where the broker lets it (a
 * developer's `guest`, the tests' own vhosts). Refused, it names what is missing and waits.
 */
export class TopologyMissingError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(`topology missing: ${missing.join(', ')}; the operator declares it (npm run topology -- apply)`);
    this.name = 'TopologyMissingError';
  }
}

/** What this process found missing on its last look, for `/readyz` and `warren_topology_missing`. */
export class MissingTopology {
  private readonly byOwner = new Map<string, readonly string[]>();

  /**
   * `owner` is the channel that looked (the publisher, a consumer, the watch): each reports what it needs. What it
   * found `present` is cleared from the others' reports too: the newest look at a resource wins.
   */
  record(owner: string, missing: readonly string[], present: readonly string[] = []): void {
    const found = new Set(present);
    for (const [other, list] of this.byOwner)
      this.byOwner.set(
        other,
        list.filter((r) => !found.has(r)),
      );
    if (missing.length > 0) this.byOwner.set(owner, missing);
    else this.byOwner.delete(owner);
  }

  list(): string[] {
    return [...new Set([...this.byOwner.values()].flat())].sort();
  }
}

/** How a service looks at its topology: a channel of its own for the looks (a 404 closes it), and where to report. */
export interface TopologyLook {
  /** A fresh channel beside `channel` for the looks; without it, everything is declared on `channel` (see below). */
  openChannel?(beside: Channel): Promise<Channel>;
  missing: MissingTopology;
}

type Resource =
  { kind: 'exchange'; name: string; type: 'topic' | 'direct' } | { kind: 'queue'; name: string; declaration: QueueDeclaration };

/**
 * Looks at every exchange and queue `topology` needs and declares what is missing where permitted (a queue it
 * declares also gets its bindings; an existing one's bindings are the operator's). Throws
 * {@link TopologyMissingError} naming what is still missing; records it under `owner` either way.
 *
 * Without a channel of its own to look on (`look.openChannel`), a passive declare of what is missing would close
 * `channel` itself (404): then it declares everything, as an owner of the topology does (a test's own vhost), and
 * a refusal names what it could not declare.
 */
export async function ensureTopology(channel: Channel, topology: Topology, look: TopologyLook | undefined, owner: string): Promise<void> {
  const resources = resourcesOf(topology, channel);
  const missing = look?.openChannel
    ? await lookAndDeclare(channel, resources, topology.exchange, look.openChannel.bind(look))
    : await declareAll(channel, resources, topology.exchange);
  const names = resources.map(nameOf);
  look?.missing.record(
    owner,
    missing,
    names.filter((r) => !missing.includes(r)),
  );
  if (missing.length > 0) throw new TopologyMissingError(missing);
}

/**
 * The owner's declaration of a whole topology on a channel that may configure (`npm run topology`'s admin path and
 * the tests' own vhosts): every exchange, queue and binding; a refusal throws {@link TopologyMissingError}.
 */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  return ensureTopology(channel, topology, undefined, 'operator');
}

const nameOf = (r: Resource): string => `${r.kind} ${r.name}`;

async function lookAndDeclare(
  channel: Channel,
  resources: readonly Resource[],
  eventsExchange: string,
  openChannel: (beside: Channel) => Promise<Channel>,
): Promise<string[]> {
  const session = new LookSession(() => openChannel(channel));
  const missing: string[] = [];
  let refused = false;
  try {
    for (const resource of resources) {
      if (await session.exists(resource)) continue;
      // One refusal says the user may not configure: the rest is only looked at, not tried.
      if (!refused) refused = !(await session.declare(resource, eventsExchange));
      if (refused) missing.push(nameOf(resource));
    }
  } finally {
    await session.close();
  }
  return missing;
}

async function declareAll(channel: Channel, resources: readonly Resource[], eventsExchange: string): Promise<string[]> {
  for (const [i, resource] of resources.entries()) {
    try {
      await declare(channel, resource, eventsExchange);
    } catch (error) {
      if (!isAccessRefused(error)) throw error;
      // The refusal closed the channel: this and everything after it stays undeclared.
      return resources.slice(i).map(nameOf);
    }
  }
  return [];
}

async function declare(channel: Channel, resource: Resource, eventsExchange: string): Promise<void> {
  if (resource.kind === 'exchange') await channel.assertExchange(resource.name, resource.type, { durable: true });
  else {
    const { name, options, bindings, failureBinding } = resource.declaration;
    await channel.assertQueue(name, options);
    for (const key of bindings) await channel.bindQueue(name, eventsExchange, key);
    await channel.bindQueue(name, failureBinding.exchange, failureBinding.routingKey);
  }
}

function resourcesOf(topology: Topology, channel: Channel): Resource[] {
  const version = channel.connection?.serverProperties?.version;
  return [
    { kind: 'exchange', name: topology.exchange, type: 'topic' },
    ...topology.queues.map((q): Resource => ({ kind: 'exchange', name: failuresExchangeName(q.name), type: 'direct' })),
    ...planTopology(topology, { ...(version ? { version } : {}) }).map((declaration): Resource => ({
      kind: 'queue',
      name: declaration.name,
      declaration,
    })),
  ];
}

/** RabbitMQ's 404 (a passive declare of what does not exist) and 403 (no permission), as amqplib reports them. */
const isNotFound = (error: unknown): boolean => /NOT[-_]FOUND|\b404\b/.test(String((error as Error)?.message));
const isAccessRefused = (error: unknown): boolean => /ACCESS[-_]REFUSED|\b403\b/.test(String((error as Error)?.message));

/** Passive declares and declarations on channels of their own, which a refusal closes: reopened only after one. */
class LookSession {
  private current?: Channel;
  private opened: Channel[] = [];

  constructor(private readonly open: () => Promise<Channel>) {}

  async exists(resource: Resource): Promise<boolean> {
    const channel = await this.channel();
    try {
      if (resource.kind === 'exchange') await channel.checkExchange(resource.name);
      else await channel.checkQueue(resource.name);
      return true;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.current = undefined;
      return false;
    }
  }

  /** Declares `resource` (and a queue's bindings): false when the broker refuses for want of permission. */
  async declare(resource: Resource, eventsExchange: string): Promise<boolean> {
    const channel = await this.channel();
    try {
      await declare(channel, resource, eventsExchange);
      return true;
    } catch (error) {
      if (!isAccessRefused(error)) throw error;
      this.current = undefined;
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.opened.map((c) => c.close().catch(() => undefined)));
  }

  private async channel(): Promise<Channel> {
    if (this.current) return this.current;
    const channel = await this.open();
    // A refusal closes it with an error event: expected here, and amqplib would throw an unheard one.
    channel.on('error', () => undefined);
    this.opened.push(channel);
    return (this.current = channel);
  }
}
