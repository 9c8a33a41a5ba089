import type { Channel } from 'amqplib';
import { failuresExchangeName, planTopology, type QueueDeclaration, type Topology } from './topology';

/**
 * The topology is the operator's (docs/security.md): `npm run topology -- apply`, compose's `topology` one-shot or
 * the chart's job declare it with the operator's credentials, and a service's broker user has no configure
 * permission at all, so it can neither delete the events exchange nor route it into a queue or exchange of its own.
 * A service only looks (passive declares, which need no permission), and declares what is missing only where the
 * broker lets it (a developer's `guest`, the tests' own vhosts). Refused, it names what is missing and waits.
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

  /** `owner` is the channel that looked (the publisher, a consumer, the watch): each reports what it needs. */
  record(owner: string, missing: readonly string[]): void {
    if (missing.length > 0) this.byOwner.set(owner, missing);
    else this.byOwner.delete(owner);
  }

  list(): string[] {
    return [...new Set([...this.byOwner.values()].flat())].sort();
  }
}

/** How a service looks at its topology: a channel of its own for the looks (a 404 closes it), and where to report. */
export interface TopologyLook {
  /** A fresh channel beside `channel`; without it the looks run on `channel` itself (the unit tests' fakes). */
  openChannel?(beside: Channel): Promise<Channel>;
  missing: MissingTopology;
}

type Resource =
  { kind: 'exchange'; name: string; type: 'topic' | 'direct' } | { kind: 'queue'; name: string; declaration: QueueDeclaration };

/**
 * Looks at every exchange and queue `topology` needs and declares what is missing where permitted (a queue it
 * declares also gets its bindings; an existing one's bindings are the operator's). Throws
 * {@link TopologyMissingError} naming what is still missing; records it under `owner` either way.
 */
export async function ensureTopology(channel: Channel, topology: Topology, look: TopologyLook | undefined, owner: string): Promise<void> {
  const session = new LookSession(channel, look);
  const missing: string[] = [];
  let refused = false;
  try {
    for (const resource of resourcesOf(topology, channel)) {
      if (await session.exists(resource)) continue;
      // One refusal says the user may not configure: the rest is only looked at, not tried.
      if (!refused) refused = !(await session.declare(resource, topology.exchange));
      if (refused) missing.push(`${resource.kind} ${resource.name}`);
    }
  } finally {
    await session.close();
  }
  look?.missing.record(owner, missing);
  if (missing.length > 0) throw new TopologyMissingError(missing);
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

/** Passive declares and declarations on a channel that a refusal may close: reopened only after one. */
class LookSession {
  private current?: Channel;
  private opened: Channel[] = [];

  constructor(
    private readonly beside: Channel,
    private readonly look: TopologyLook | undefined,
  ) {}

  async exists(resource: Resource): Promise<boolean> {
    const channel = await this.channel();
    try {
      if (resource.kind === 'exchange') await channel.checkExchange(resource.name);
      else await channel.checkQueue(resource.name);
      return true;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.lost(channel);
      return false;
    }
  }

  /** Declares `resource` (and a queue's bindings): false when the broker refuses for want of permission. */
  async declare(resource: Resource, eventsExchange: string): Promise<boolean> {
    const channel = await this.channel();
    try {
      if (resource.kind === 'exchange') await channel.assertExchange(resource.name, resource.type, { durable: true });
      else {
        const { name, options, bindings, failureBinding } = resource.declaration;
        await channel.assertQueue(name, options);
        for (const key of bindings) await channel.bindQueue(name, eventsExchange, key);
        await channel.bindQueue(name, failureBinding.exchange, failureBinding.routingKey);
      }
      return true;
    } catch (error) {
      if (!isAccessRefused(error)) throw error;
      this.lost(channel);
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.opened.map((c) => c.close().catch(() => undefined)));
  }

  private async channel(): Promise<Channel> {
    if (this.current) return this.current;
    if (!this.look?.openChannel) return (this.current = this.beside);
    const channel = await this.look.openChannel(this.beside);
    // A refusal closes it with an error event: expected here, and amqplib would throw an unheard one.
    channel.on('error', () => undefined);
    this.opened.push(channel);
    return (this.current = channel);
  }

  /** The broker closed the looking channel with its refusal: the next look opens another (not `beside`). */
  private lost(channel: Channel): void {
    if (channel !== this.beside) this.current = undefined;
  }
}
