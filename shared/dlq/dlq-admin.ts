import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { Publisher } from '../messaging/publisher';
import { deadLetterQueueName } from '../messaging/topology';
import type { Logger } from '../observability/logger';
import { describeDeadLetter, type DeadLetterInfo } from './dead-letter-info';
import { DlqMissingError, DlqMoveError, UnknownDlqError } from './dlq-errors';
import { openDlqPublisher, type DlqPublisher } from './dlq-publisher';
import { DlqSession, type Move } from './dlq-session';
import { redactBody, redactDeep } from './redact';
import { planReplay, type ReplayEntry, type ReplaySelection, type SkippedEntry } from './replay-plan';
import { requeueProperties } from './replay-properties';
import type { TlsFiles } from '../config/tls-files';

export type { ReplayEntry, ReplaySelection, SkippedEntry };

export interface DlqAdminOptions {
  /** The broker; the vhost in the URL holds the queues. */
  amqpUrl: string;
  /** AMQP_TLS_* (with an amqps:// URL): the CA to trust and the client certificate. @defaultValue none */
  tls?: TlsFiles;
  /** The fleet's consumer queues (from the service definitions); the DLQ of queue `Q` is `Q.dlq`. */
  queues: readonly string[];
  /** The events exchange, which the publisher asserts like every Warren publisher. */
  eventsExchange: string;
  /** How long a replayed or re-published message waits for its confirm. */
  publishTimeoutMs: number;
  log: Logger;
  /** Most messages one show or replay takes off a DLQ. @defaultValue 100000 */
  maxMessages?: number;
}

export interface DlqDepth {
  dlq: string;
  /** The consumer queue it serves, where a replay goes. */
  queue: string;
  exists: boolean;
  /** Ready messages; absent when the queue does not exist. */
  depth?: number;
}

export interface ShownMessage extends DeadLetterInfo {
  /** 1 for the head of the DLQ. */
  position: number;
  /** The body, redacted and bounded, when asked for. */
  body?: string;
}

export interface ShowResult {
  dlq: string;
  /** Messages read; a lower bound when `truncated`. */
  depth: number;
  truncated: boolean;
  messages: ShownMessage[];
}

export interface ReplayResult {
  dlq: string;
  dryRun: boolean;
  replayed: ReplayEntry[];
  /** Selected messages left in the DLQ because no failing queue of this DLQ is recorded on them. */
  skipped: SkippedEntry[];
  /** Messages in the DLQ afterwards (as far as this replay knows). */
  remaining: number;
  /** With `--id`: true when no message had that id. */
  notFound: boolean;
}

const DEFAULT_MAX_MESSAGES = 100_000;

/**
 * Lists, shows, replays and purges the fleet's dead-letter queues. Reads go through {@link DlqSession}, so
 * that looking at a DLQ never loses or reorders it; replays go through the shared confirmed publisher to the
 * failing queue only (the default exchange, so no other subscriber of the routing key sees them again).
 */
export class DlqAdmin {
  private publishing?: Promise<DlqPublisher>;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly options: DlqAdminOptions,
  ) {}

  /** Connects at once and fails fast: an operator's tool must not wait for ever on a broker that is down. */
  static async open(options: DlqAdminOptions): Promise<DlqAdmin> {
    const connection = await amqplib.connect(options.amqpUrl, { clientProperties: { connection_name: 'warren-dlq' }, ...options.tls });
    connection.on('error', (err: Error) => options.log.warn({ err: err.message }, 'dlq connection error'));
    return new DlqAdmin(connection, options);
  }

  /** Every DLQ of the fleet, in the order the services define their queues. */
  get dlqs(): string[] {
    return this.options.queues.map(deadLetterQueueName);
  }

  async list(): Promise<DlqDepth[]> {
    const depths: DlqDepth[] = [];
    for (const queue of this.options.queues) {
      const dlq = deadLetterQueueName(queue);
      const depth = await this.depthOf(dlq);
      depths.push(depth === undefined ? { dlq, queue, exists: false } : { dlq, queue, exists: true, depth });
    }
    return depths;
  }

  /** The first `limit` messages of a DLQ, head first, with why each failed. The DLQ is left as it was. */
  async show(dlq: string, { limit, withBody = false }: { limit: number; withBody?: boolean }): Promise<ShowResult> {
    await this.existing(dlq);
    const session = await this.openSession(dlq);
    const messages = session.messages.slice(0, limit).map((msg, i) => ({
      position: i + 1,
      ...redactDeep(describeDeadLetter(msg)),
      ...(withBody ? { body: redactBody(msg.content) } : {}),
    }));
    await this.settle(
      session,
      session.messages.map((msg) => ({ queue: dlq, properties: requeueProperties(msg) })),
    );
    return { dlq, depth: session.messages.length, truncated: session.truncated, messages };
  }

  /**
   * Replays one message (`{ id }`, the first with that message id) or all of them back to the queue that failed
   * them, with their retry state reset; everything else goes back to the DLQ in order. A dry run moves nothing
   * anywhere but back into the DLQ, in order, and reports what would have been replayed.
   */
  async replay(dlq: string, { select, dryRun }: { select: ReplaySelection; dryRun: boolean }): Promise<ReplayResult> {
    const source = await this.existing(dlq);
    const session = await this.openSession(dlq);
    const { moves, replayed, skipped, notFound } = planReplay(session.messages, { dlq, source }, select, dryRun, new Date());
    await this.settle(session, moves);
    return { dlq, dryRun, replayed, skipped, remaining: session.messages.length - (dryRun ? 0 : replayed.length), notFound };
  }

  /** Deletes every ready message of a DLQ; returns how many. */
  async purge(dlq: string): Promise<{ dlq: string; purged: number }> {
    await this.existing(dlq);
    return this.withChannel(async (channel) => ({ dlq, purged: (await channel.purgeQueue(dlq)).messageCount }));
  }

  async close(): Promise<void> {
    const publishing = await this.publishing?.catch(() => undefined);
    await publishing?.close();
    await this.connection.close().catch(() => undefined);
  }

  /** The consumer queue a DLQ serves; throws for a name that is not one of the fleet's DLQs. */
  sourceOf(dlq: string): string {
    const queue = this.options.queues.find((q) => deadLetterQueueName(q) === dlq);
    if (!queue) throw new UnknownDlqError(dlq, this.dlqs);
    return queue;
  }

  private async existing(dlq: string): Promise<string> {
    const source = this.sourceOf(dlq);
    if ((await this.depthOf(dlq)) === undefined) throw new DlqMissingError(dlq);
    return source;
  }

  /** A missing queue closes the channel that asked (404), never the connection: hence one channel per check. */
  private async depthOf(dlq: string): Promise<number | undefined> {
    try {
      return await this.withChannel(async (channel) => (await channel.checkQueue(dlq)).messageCount);
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return undefined;
      throw error;
    }
  }

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined); // the failed call rejects with the same error
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** The publisher is ready before any message is taken, so a broker refusing publishes leaves the DLQ alone. */
  private async openSession(dlq: string): Promise<DlqSession> {
    await this.publisher();
    return DlqSession.open(this.connection, dlq, this.options.maxMessages ?? DEFAULT_MAX_MESSAGES);
  }

  private async settle(session: DlqSession, moves: Move[]): Promise<void> {
    const outcome = await session.settle(await this.publisher(), moves);
    if (outcome.error) throw new DlqMoveError(session.dlq, outcome.moved, moves.length, outcome.error);
  }

  private async publisher(): Promise<Publisher> {
    this.publishing ??= openDlqPublisher(this.options);
    return (await this.publishing).publisher;
  }
}
