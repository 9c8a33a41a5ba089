import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type pino from 'pino';
import type { WarrenConfig } from '../config/config';
import { ClaimStore } from '../idempotency/claims';
import { connect } from '../messaging/connection';
import { Consumer } from '../messaging/consumer';
import type { HandlerMap, Middleware } from '../messaging/context';
import { standardChain, type Idempotency } from '../messaging/middleware/chain';
import { Publisher } from '../messaging/publisher';
import type { Topology } from '../messaging/topology';
import { topologyLook } from '../messaging/topology-probe';
import { TopologyWatch } from '../messaging/topology-watch';
import type { TopologyLook } from '../messaging/topology-check';
import { createOpsServer } from '../http/ops-server';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type Metrics } from '../observability/metrics';
import { registerTopologyMissingGauge } from '../observability/topology-metric';
import { flushTracing } from '../observability/tracing';
import { createRedis } from '../redis/client';
import { internalKey } from '../redis/key-layout';
import { WriteProbe } from '../redis/write-probe';
import { consumerSettings } from './consumer-settings';
import type { ConsumedQueue } from './declaration';

export interface RuntimeOptions {
  service: string;
  /** The queues this service consumes; retry and dead-letter queues are derived from them. */
  queues: readonly ConsumedQueue[];
  opsPort: number;
  /** The public API port, for a service that declares an API. */
  apiPort?: number;
  /** Where log lines go (tests capture them); standard output by default. */
  logDestination?: pino.DestinationStream;
  /** Routing keys no queue of the fleet binds: this service publishes them without `mandatory` (publisher.ts). */
  unconsumedKeys?: readonly string[];
}

type StopHook = () => Promise<void>;

export interface ConsumeOptions {
  /** Overrides the queue's declared mode (tests). @defaultValue the declaration's `idempotency` */
  idempotency?: Idempotency;
  /** Replaces the standard middleware altogether. */
  middleware?: Middleware[];
}

/**
 * Everything a Warren service stands on, built once from typed config: logger, metrics, Redis, the two AMQP
 * connections, the confirmed publisher, consumers with the standard middleware, and the ops server. `stop()`
 * drains in order: intake first, then consumers (in-flight handlers finish), then background work, then I/O.
 */
export class Runtime {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly redis: Redis;
  readonly publisher: Publisher;
  readonly claims: ClaimStore;
  /** Whether Redis takes writes, for `/readyz` (a connected Redis may still refuse every write). */
  readonly redisWrites: WriteProbe;
  readonly ops: FastifyInstance;
  readonly topology: Topology;
  private readonly look: TopologyLook;
  private readonly topologyWatch: TopologyWatch;
  private readonly connections: Record<'publish' | 'consume', AmqpConnectionManager>;
  private readonly consumers: Consumer[] = [];
  private readonly intakeHooks: StopHook[] = [];
  private readonly backgroundHooks: StopHook[] = [];
  private stopped?: Promise<void>;

  constructor(
    readonly config: WarrenConfig,
    private readonly options: RuntimeOptions,
  ) {
    const { service } = options;
    this.log = createLogger({
      service,
      level: config.logLevel,
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
    this.metrics = createMetrics(service);
    this.topology = {
      exchange: config.eventsExchange,
      queues: options.queues,
      retryDelaysMs: config.retryDelaysMs,
      queueType: config.queueType,
    };
    this.redis = createRedis(config, this.log.child({ component: 'redis' }), this.metrics);
    this.redisWrites = new WriteProbe(
      this.redis,
      internalKey(config.redisKeyPrefix, service, 'ready'),
      this.log.child({ component: 'redis' }),
    );
    // Claims are renewed while their handler runs, up to the handler timeout: a dead worker's ends within a lease.
    this.claims = new ClaimStore(
      this.redis,
      config.redisKeyPrefix,
      config.idempotencyLeaseMs,
      config.idempotencyRetentionMs,
      config.handlerTimeoutMs,
    );
    this.connections = {
      publish: connect(config.amqpUrls, 'publish', service, this.log, this.metrics, config.amqpTls),
      consume: connect(config.amqpUrls, 'consume', service, this.log, this.metrics, config.amqpTls),
    };
    const look = topologyLook(Object.values(this.connections));
    this.look = look;
    this.topologyWatch = new TopologyWatch(this.connections.publish, this.topology, look, this.log.child({ component: 'topology' }));
    registerTopologyMissingGauge(this.metrics.registry, () => look.missing.list());
    if (options.unconsumedKeys?.length)
      this.log.warn(
        { routingKeys: options.unconsumedKeys },
        'no service of the fleet consumes these events yet: published without mandatory, dropped by the broker',
      );
    this.publisher = new Publisher(this.connections.publish, {
      exchange: config.eventsExchange,
      topology: this.topology,
      look: this.look,
      timeoutMs: config.publishTimeoutMs,
      bufferLimit: config.publishBufferLimit,
      bufferBytes: config.publishBufferBytes,
      appId: service,
      ...(options.unconsumedKeys?.length ? { unconsumed: new Set(options.unconsumedKeys) } : {}),
      log: this.log.child({ component: 'publisher' }),
      metrics: this.metrics,
    });
    this.ops = createOpsServer(
      this.metrics.registry,
      [
        { name: 'amqpPublish', ok: () => this.connections.publish.isConnected() },
        { name: 'amqpConsume', ok: () => this.connections.consume.isConnected() },
        { name: 'redis', ok: () => this.redis.status === 'ready' },
        { name: 'redisWrites', ok: () => this.redisWrites.ok },
        // A consumer its kill switch paused on purpose still counts as ready: it has its own metric and alert.
        { name: 'consumers', ok: () => this.consumers.every((c) => c.isReady) },
        // Names what the operator's topology step has yet to declare (a queue's drifting arguments are the
        // step's to report: `npm run topology -- plan`; a service user may not redeclare to find out).
        { name: 'topology', ok: () => look.missing.list().length === 0, detail: () => ({ missing: look.missing.list() }) },
      ],
      [{ name: 'consumers', ok: () => this.consumers.every((c) => c.healthy) }],
      {
        log: this.log.child({ component: 'ops' }),
        requestTimeoutMs: config.httpRequestTimeoutMs,
        ...(config.auth.opsToken === undefined ? {} : { opsToken: config.auth.opsToken }),
      },
    );
  }

  /**
   * Starts consuming one of this service's queues, with the service-wide consumer settings (`PREFETCH`,
   * `KILL_SWITCH_*`) unless the queue's declaration overrides them.
   */
  consume(queue: string, handlers: HandlerMap, options: ConsumeOptions = {}): Consumer {
    const declared = this.options.queues.find((q) => q.name === queue);
    const idempotency = options.idempotency ?? declared?.idempotency;
    const middleware =
      options.middleware ??
      standardChain({
        log: this.log,
        metrics: this.metrics,
        handlerTimeoutMs: this.config.handlerTimeoutMs,
        claims: this.claims,
        ...(idempotency ? { idempotency } : {}),
      });
    const consumer = new Consumer(this.connections.consume, {
      queue,
      topology: this.topology,
      look: this.look,
      ...consumerSettings(this.config, declared),
      handlers,
      middleware,
      publisher: this.publisher,
      service: this.options.service,
      log: this.log,
      metrics: this.metrics,
    });
    this.consumers.push(consumer);
    return consumer;
  }

  /** The port of the service's public API (its declaration's `api`); throws for a service that declares none. */
  get apiPort(): number {
    if (this.options.apiPort === undefined) throw new Error(`${this.options.service} declares no API port`);
    return this.options.apiPort;
  }

  /** True while the publishing connection to the broker is open. */
  brokerUp(): boolean {
    return this.connections.publish.isConnected();
  }

  /** Run first on stop: close intake (the HTTP API) before consumers drain. */
  onStopIntake(hook: StopHook): void {
    this.intakeHooks.push(hook);
  }

  /** Run after consumers drained: background loops (outbox relay, timeout sweep). */
  onStopBackground(hook: StopHook): void {
    this.backgroundHooks.push(hook);
  }

  /** Opens the ops server and waits until the publisher and every consumer are connected. */
  async start(): Promise<void> {
    if (this.config.auth.mode === 'off')
      this.log.warn('authentication is off (AUTH_MODE=off): anyone who reaches the API and ops ports may use them; see docs/security.md');
    this.redisWrites.start();
    this.topologyWatch.start();
    await this.ops.listen({ port: this.options.opsPort, host: this.config.opsHost });
    await Promise.all([this.publisher.ready(), ...this.consumers.map((c) => c.ready())]);
    this.log.info({ opsPort: this.options.opsPort }, 'service started');
  }

  stop(): Promise<void> {
    this.stopped ??= this.drain();
    return this.stopped;
  }

  private async drain(): Promise<void> {
    const timeout = this.config.shutdownTimeoutMs;
    this.log.info('draining');
    for (const hook of this.intakeHooks) await hook().catch((err: Error) => this.log.warn({ err: err.message }, 'intake stop failed'));
    await Promise.all(this.consumers.map((c) => c.stop(timeout)));
    for (const hook of this.backgroundHooks)
      await hook().catch((err: Error) => this.log.warn({ err: err.message }, 'background stop failed'));
    this.claims.close();
    await this.topologyWatch.stop();
    await this.publisher.close(timeout).catch(() => undefined);
    await Promise.all(Object.values(this.connections).map((c) => c.close().catch(() => undefined)));
    this.redisWrites.stop();
    await this.redis.quit().catch(() => this.redis.disconnect());
    await this.ops.close();
    // Last, so that the spans of the drain itself (in-flight deliveries, their publishes) are sent too.
    await flushTracing();
    this.log.info('stopped');
    await new Promise<void>((resolve) => this.log.flush(() => resolve()));
  }
}
