import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { Publisher } from '../messaging/publisher';
import { deadLetterQueueName } from '../messaging/topology';
import type { Logger } from '../observability/logger';
import { describeDeadLetter, type DeadLetterInfo } from './dead-letter-info';
import { DlqMissingError, DlqMoveError, UnknownDlqError } from './dlq-errors';
import { openDlqPublisher, type DlqPublisher } from './dlq-publisher';
import { DlqSession, type Move } from './dlq-session';
import { redactBody, redactDeep } from './redact';
import { DEFAULT_PAGE_LIMITS, type PageLimits } from './page-budget';
import { planReplay, type ReplayEntry, type ReplaySelection, type ReplayState, type SkippedEntry } from './replay-plan';
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
  /**
   * The most a show or replay holds at once: a page of messages and bytes of bodies (plus one message, whose size
   * is only known once it is taken). A replay walks the whole DLQ a page at a time; a show reads one page at most.
   * @defaultValue 1000 messages, 8 MiB
   */
  page?: Partial<PageLimits>;
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
  /** Messages in the DLQ when it was read: the ones shown plus `notRead`. */
  depth: number;
  /** Messages behind the ones shown: never taken off the broker, so neither loaded nor moved. */
  notRead: number;
  /** Set when the page's bound, not `--limit`, stopped the read: `bytes` (bodies held) or `messages`. */
  pageFull?: 'messages' | 'bytes';
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
  /** Pages the DLQ was walked in; each held at most one page's messages and bytes (`DlqAdminOptions.page`). */
  pages: number;
  /** With `--id`: true when no message had that id. */
  notFound: boolean;
}

/**
 * Lists, shows, replays and purges the fleet's dead-letter queues. Reads go through {@link DlqSession}, so
 * that looking at a DLQ never loses or reorders it; replays go through the shared confirmed publisher to the
 * failing queue only (the default exchange, so no other subscriber of the routing key sees them again).
 */
export class DlqAdmin {
  private publishing?: Promise<DlqPublisher>;
  private readonly page: PageLimits;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly options: DlqAdminOptions,
  ) {
    this.page = { ...DEFAULT_PAGE_LIMITS, ...options.page };
  }

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

  /**
   * The first `limit` messages of a DLQ (at most one page), head first, with why each failed. Only those are taken
   * off the broker: they go back to the head untouched ({@link DlqSession.handBack}), and the rest are never read.
   * A DLQ that fits in the page whole is re-published in order instead, which keeps its order on every broker.
   */
  async show(dlq: string, { limit, withBody = false }: { limit: number; withBody?: boolean }): Promise<ShowResult> {
    await this.existing(dlq);
    const session = await this.openSession(dlq, Math.min(limit, this.page.maxMessages));
    const messages = session.messages.map((msg, i) => ({
      position: i + 1,
      ...redactDeep(describeDeadLetter(msg)),
      ...(withBody ? { body: redactBody(msg.content) } : {}),
    }));
    if (session.exhausted)
      await this.settle(
        session,
        session.messages.map((msg) => ({ queue: dlq, properties: requeueProperties(msg) })),
      );
    else await session.handBack();
    const pageFull = session.stoppedBy === 'bytes' || (session.stoppedBy === 'messages' && limit > this.page.maxMessages);
    return {
      dlq,
      depth: messages.length + session.remaining,
      notRead: session.remaining,
      ...(pageFull && !session.exhausted ? { pageFull: session.stoppedBy as 'messages' | 'bytes' } : {}),
      messages,
    };
  }

  /**
   * Replays one message (`{ id }`, the first with that message id) or all of them back to the queue that failed
   * them, with their retry state reset; everything else goes back to the DLQ in order. A dry run moves nothing
   * anywhere but back into the DLQ, in order, and reports what would have been replayed.
   *
   * The DLQ is walked a page at a time, head to tail, for as many messages as it held when the replay started: what
   * goes back to its tail meanwhile (kept messages, replays that fail again) is behind them and is not read twice.
   */
  async replay(dlq: string, { select, dryRun }: { select: ReplaySelection; dryRun: boolean }): Promise<ReplayResult> {
    const source = await this.existing(dlq);
    const depth = (await this.depthOf(dlq)) ?? 0;
    const result: ReplayResult = { dlq, dryRun, replayed: [], skipped: [], remaining: 0, notFound: false, pages: 0 };
    const state: ReplayState = { position: 0, matched: false };
    const now = new Date();
    while (state.position < depth) {
      const session = await this.openSession(dlq, Math.min(this.page.maxMessages, depth - state.position));
      if (session.messages.length === 0) {
        await session.abandon();
        break;
      }
      const before = state.position;
      const plan = planReplay(session.messages, { dlq, source }, select, dryRun, now, state);
      await this.settle(session, plan.moves, before, depth);
      result.pages++;
      result.replayed.push(...plan.replayed);
      result.skipped.push(...plan.skipped);
    }
    result.notFound = 'id' in select && !state.matched;
    result.remaining = state.position - (dryRun ? 0 : result.replayed.length);
    return result;
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
  private async openSession(dlq: string, maxMessages: number): Promise<DlqSession> {
    await this.publisher();
    return DlqSession.open(this.connection, dlq, maxMessages, this.page.maxBytes);
  }

  /** `before` and `total` place this page in a walk of the whole DLQ, for the error an operator reads. */
  private async settle(session: DlqSession, moves: Move[], before = 0, total = moves.length): Promise<void> {
    const outcome = await session.settle(await this.publisher(), moves);
    if (outcome.error) throw new DlqMoveError(session.dlq, before + outcome.moved, total, outcome.error);
  }

  private async publisher(): Promise<Publisher> {
    this.publishing ??= openDlqPublisher(this.options);
    return (await this.publishing).publisher;
  }
}
