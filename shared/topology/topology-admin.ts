import amqplib, { type ChannelModel } from 'amqplib';
import { failuresExchangeName, planTopology, type QueueDeclaration, type Topology } from '../messaging/topology';
import { ProbeSession } from '../messaging/topology-drift';
import { moveMessages } from './move-messages';
import type { TlsFiles } from '../config/tls-files';

/** How one queue the code declares compares with the broker's. */
export interface QueueState {
  queue: string;
  service: string;
  /** `ok` as declared; `missing` (apply declares it); `drift` (an argument differs: migrate recreates it). */
  status: 'ok' | 'missing' | 'drift';
  argument?: string;
  declared?: string;
  actual?: string;
  /** Ready messages, for an existing queue. */
  messages?: number;
  consumers?: number;
}

export interface ServiceTopology {
  service: string;
  topology: Topology;
}

export class TopologyError extends Error {}

/**
 * The operator's side of topology changes, over one AMQP connection with the operator's credentials (AMQP_URL):
 * compares what the code declares with the broker (a passive declare, then a redeclaration with the same
 * arguments, which the broker either accepts unchanged or refuses naming the argument), declares what is missing,
 * and recreates a queue whose arguments cannot change in place. Plain AMQP, so it works wherever the services
 * do; the management API is not needed.
 */
export class TopologyAdmin {
  private constructor(
    private readonly model: ChannelModel,
    private readonly services: readonly ServiceTopology[],
  ) {}

  static async open(amqpUrl: string, services: readonly ServiceTopology[], tls?: TlsFiles): Promise<TopologyAdmin> {
    const model = await amqplib.connect(amqpUrl, { ...tls });
    // A connection error also rejects the call in progress, which reports it; unheard it would end the process.
    model.on('error', () => undefined);
    return new TopologyAdmin(model, services);
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }

  /** Every queue the code declares, with its state on the broker. Changes nothing. */
  async plan(): Promise<QueueState[]> {
    const session = this.session();
    try {
      const states: QueueState[] = [];
      for (const { service, declaration } of this.declarations()) {
        const result = await session.declare(declaration, true);
        const state: QueueState = { queue: declaration.name, service, status: result.kind === 'declared' ? 'ok' : result.kind };
        if (result.kind === 'drift')
          Object.assign(state, { argument: result.drift.argument, declared: result.drift.declared, actual: result.drift.actual });
        if (result.kind !== 'missing') Object.assign(state, await this.counts(declaration.name));
        states.push(state);
      }
      return states;
    } finally {
      await session.close();
    }
  }

  /**
   * Declares the exchanges, every missing queue (a new retry tier) and every binding; a drifting queue keeps its
   * arguments (only `migrate` can change them) but gets its bindings. Returns the plan after the change.
   */
  async apply(): Promise<QueueState[]> {
    const channel = await this.model.createChannel();
    const session = this.session();
    try {
      for (const { topology } of this.services) {
        await channel.assertExchange(topology.exchange, 'topic', { durable: true });
        for (const q of topology.queues) await channel.assertExchange(failuresExchangeName(q.name), 'direct', { durable: true });
      }
      for (const { topology, declaration } of this.declarations()) {
        await session.declare(declaration);
        await bind(channel, topology.exchange, declaration);
      }
    } finally {
      await session.close();
      await channel.close().catch(() => undefined);
    }
    return this.plan();
  }

  /**
   * Recreates `queue` with the arguments the code declares, without losing a message (the way NServiceBus's
   * migrate-to-quorumqueue does): a temporary queue takes the queue's bindings, so nothing published meanwhile is
   * unroutable, and the queue loses them, so nothing new reaches it; its messages move over (each acked only once
   * the broker confirmed its copy); the queue is deleted only when empty, declared anew and bound; the temporary
   * queue is unbound, moved back and deleted. Do not replay a DLQ into the queue meanwhile (a replay addresses the
   * queue by name).
   * Refuses a queue with consumers unless `force`: deleting it cancels them, and their unacked messages go with it.
   */
  async migrate(queue: string, options: { force?: boolean } = {}): Promise<{ queue: string; moved: number; movedBack: number }> {
    const found = this.declarations().find((d) => d.declaration.name === queue);
    if (!found) throw new TopologyError(`${queue} is not a queue the fleet declares`);
    const { declaration, topology } = found;
    const counts = await this.counts(queue);
    if (counts.consumers > 0 && !options.force)
      throw new TopologyError(`${queue} has ${counts.consumers} consumer(s): stop (scale to 0) its service first, or pass --force`);
    const temp = `${queue}.migrating`;
    const channel = await this.model.createChannel();
    try {
      const tempDeclaration: QueueDeclaration = {
        ...declaration,
        name: temp,
        options: { durable: true, arguments: typeArgs(declaration) },
      };
      await channel.assertQueue(temp, tempDeclaration.options);
      // The temporary queue takes the bindings first: from here on nothing is routed to the queue itself.
      await bind(channel, topology.exchange, tempDeclaration);
      await unbind(channel, topology.exchange, declaration);
      const trusted = declaration.failureBinding.exchange;
      const moved = await this.drainInto(queue, temp, trusted);
      await channel.assertQueue(queue, declaration.options);
      await bind(channel, topology.exchange, declaration);
      await unbind(channel, topology.exchange, tempDeclaration);
      const movedBack = await this.drainInto(temp, queue, trusted);
      return { queue, moved, movedBack };
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Moves every message of `from` (already unbound, so nothing new is routed to it) to `to`, then deletes `from`
   * once a passive declare finds it empty. Quorum queues refuse `delete if-empty` (540), hence the check first.
   */
  private async drainInto(from: string, to: string, trustedExchange: string): Promise<number> {
    let moved = 0;
    for (let round = 0; round < 100; round++) {
      moved += await moveMessages(this.model, from, to, trustedExchange);
      if ((await this.counts(from)).messages > 0) continue;
      const channel = await this.model.createChannel();
      await channel.deleteQueue(from);
      await channel.close();
      return moved;
    }
    throw new TopologyError(`${from} never stayed empty; its messages are safe in ${from} and ${to}`);
  }

  private async counts(queue: string): Promise<{ messages: number; consumers: number }> {
    const channel = await this.model.createChannel();
    try {
      const ok = await channel.checkQueue(queue);
      return { messages: ok.messageCount, consumers: ok.consumerCount };
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private declarations(): { service: string; topology: Topology; declaration: QueueDeclaration }[] {
    const version = this.model.connection.serverProperties?.version;
    return this.services.flatMap(({ service, topology }) =>
      planTopology(topology, { ...(version ? { version } : {}) }).map((declaration) => ({ service, topology, declaration })),
    );
  }

  private session(): ProbeSession {
    return new ProbeSession(() => this.model.createChannel());
  }
}

function typeArgs(declaration: QueueDeclaration): Record<string, unknown> {
  const type: unknown = declaration.options.arguments?.['x-queue-type'];
  return type ? { 'x-queue-type': type } : {};
}

async function bind(channel: amqplib.Channel, exchange: string, d: QueueDeclaration): Promise<void> {
  for (const key of d.bindings) await channel.bindQueue(d.name, exchange, key);
  await channel.bindQueue(d.name, d.failureBinding.exchange, d.failureBinding.routingKey);
}

async function unbind(channel: amqplib.Channel, exchange: string, d: QueueDeclaration): Promise<void> {
  for (const key of d.bindings) await channel.unbindQueue(d.name, exchange, key);
  await channel.unbindQueue(d.name, d.failureBinding.exchange, d.failureBinding.routingKey);
}
