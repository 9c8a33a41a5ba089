import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from '../observability/logger';
import type { Topology } from './topology';
import { ensureTopology, TopologyMissingError, type TopologyLook } from './topology-check';

/** How often a running service looks again: an exchange deleted under it shows in `/readyz` within this. */
export const TOPOLOGY_WATCH_MS = 15_000;

/**
 * Looks at the whole topology now and then while the service runs. The publisher and the consumers look on every
 * (re)connect, but an exchange deleted under a live connection (by an operator: no service user may) leaves its
 * queues unbound and the service quiet; this names it in readiness instead of leaving a silent outage.
 */
export class TopologyWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly topology: Topology,
    private readonly look: TopologyLook,
    private readonly log: Logger,
    private readonly intervalMs = TOPOLOGY_WATCH_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => (this.running ??= this.once().finally(() => (this.running = undefined))), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One look; a broker that is away is the connection's to report, not the topology's. */
  async once(): Promise<void> {
    const model = this.connection.connection;
    if (!model) return;
    const channel = await model.createChannel().catch(() => undefined);
    if (!channel) return;
    channel.on('error', () => undefined);
    try {
      await ensureTopology(channel, this.topology, this.look, 'watch');
    } catch (error) {
      if (error instanceof TopologyMissingError) this.log.warn({ missing: error.missing }, 'topology missing');
      else this.log.debug({ err: (error as Error).message }, 'topology look failed');
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}
