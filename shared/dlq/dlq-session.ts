import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import type { Publisher, PublishProperties } from '../messaging/publisher';
import { DEFAULT_PAGE_LIMITS, PageBudget } from './page-budget';

/** Where one held message goes when a session settles: a queue, through the default exchange. */
export interface Move {
  queue: string;
  properties: PublishProperties;
}

export interface SettleOutcome {
  /** Messages moved (copy published and confirmed, then the original acked), from the head of the DLQ. */
  moved: number;
  /** Set when a move failed: that message and every one after it were handed back to the broker untouched. */
  error?: Error;
}

/**
 * Holds one page of a DLQ (basic.get, no ack: at most `maxMessages` messages and about `maxBytes` of bodies, see
 * {@link PageBudget}), so that they can be read, and then either settles each one by moving it (to its failing
 * queue for a replay, or back to the DLQ's own tail, in order) or hands them all back untouched.
 *
 * Why get-then-republish rather than get-then-nack-requeue: a classic queue puts a requeued message back
 * where it was, but a quorum queue (our default) on RabbitMQ 3.x appends nacked messages to its tail, and returns
 * the messages of a closed channel in no stable order once it held more than 32 (measured on 3.10: 100 messages
 * came back shuffled). It also counts each return as a delivery, and RabbitMQ 4 gives quorum queues a default
 * delivery limit, past which a peeked message would be dropped from a DLQ that has no dead-letter target
 * of its own. Moving a whole DLQ a page at a time, head to tail, keeps the order on both queue types and every
 * version, costs one confirmed publish per message, and holds one page at a time however long the DLQ is.
 *
 * Nothing is lost: an original is acked only after its copy was confirmed, one message at a time, and anything
 * not yet moved stays unacked, so that the broker requeues it if this process dies or the channel closes. The
 * price is at-least-once: a crash between a confirm and its ack leaves one message twice, which replay
 * tolerates (handlers are idempotent). Messages dead-lettered while a session is open land ahead of the
 * re-published ones; run one DLQ tool at a time per DLQ.
 */
export class DlqSession {
  private constructor(
    private readonly channel: Channel,
    readonly dlq: string,
    /** This page of the DLQ, head first. */
    readonly messages: readonly GetMessage[],
    /** Why the read stopped: the DLQ was empty, or the page was full (by count or by bytes). */
    readonly stoppedBy: 'empty' | 'messages' | 'bytes',
    /** Messages left in the DLQ behind this page when it was read (the broker's count at the last get). */
    readonly remaining: number,
    /** Bytes of bodies this page holds. */
    readonly heldBytes: number,
  ) {}

  /** Reads one page off the head of `dlq`; `maxBytes` bounds the bodies held (see {@link PageBudget}). */
  static async open(
    connection: ChannelModel,
    dlq: string,
    maxMessages: number,
    maxBytes = DEFAULT_PAGE_LIMITS.maxBytes,
  ): Promise<DlqSession> {
    const channel = await connection.createChannel();
    // A broker-closed channel also rejects the pending call, which is where the error is handled.
    channel.on('error', () => undefined);
    const budget = new PageBudget({ maxMessages, maxBytes });
    const messages: GetMessage[] = [];
    let remaining = 0;
    try {
      while (!budget.full) {
        const msg = await channel.get(dlq, { noAck: false });
        if (!msg) break;
        messages.push(msg);
        budget.add(msg.content.length);
        remaining = msg.fields.messageCount;
      }
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw error;
    }
    return new DlqSession(channel, dlq, messages, budget.full ?? 'empty', remaining, budget.heldBytes);
  }

  /** True when this page holds the rest of the DLQ: nothing was left behind it when it was read. */
  get exhausted(): boolean {
    return this.remaining === 0;
  }

  /** Moves every held message, in order, to `moves[i]`; stops at the first failure. Closes the session. */
  async settle(publisher: Publisher, moves: readonly Move[]): Promise<SettleOutcome> {
    if (moves.length !== this.messages.length) throw new Error('one move per held message is required');
    let moved = 0;
    try {
      for (const [i, msg] of this.messages.entries()) {
        const move = moves[i]!;
        await publisher.publish('', move.queue, msg.content, move.properties);
        this.channel.ack(msg);
        moved++;
      }
      return { moved };
    } catch (error) {
      this.release(moved);
      return { moved, error: error as Error };
    } finally {
      // Closing waits for close-ok, so every ack sent before it has reached the broker.
      await this.channel.close().catch(() => undefined);
    }
  }

  /** Gives every message not yet moved back to the broker, unchanged, and closes the session. */
  async abandon(): Promise<void> {
    this.release(0);
    await this.channel.close().catch(() => undefined);
  }

  /**
   * Gives every held message back to the head of the DLQ, in order as far as the broker keeps it, publishing
   * nothing: how `show` peeks at part of a DLQ without moving the rest. Measured on quorum queues: RabbitMQ 4.3
   * puts nacked messages back at the head in the order they are nacked, while 3.10 appends them to the tail; a
   * closed channel's messages go back to the head on both, in order up to 32 held on 3.10 (past that, and past a
   * few on 4.3, shuffled among themselves). Hence a nack on 4.x and a plain close on 3.x.
   */
  async handBack(): Promise<void> {
    const major = Number(/^(\d+)\./.exec(String(this.channel.connection?.serverProperties?.version ?? ''))?.[1] ?? 0);
    if (major >= 4) this.release(0);
    await this.channel.close().catch(() => undefined);
  }

  /**
   * Each nack-requeue (and each return of a crashed reader) counts as a delivery on RabbitMQ before 4.3; that is
   * harmless only because the DLQ is declared with no delivery limit (topology.ts `unlimitedDeliveries`): on
   * 4.0 with its default of 20, 21 abandoned reads dropped every message (test/integration/dlq-requeue-safety).
   */
  private release(from: number): void {
    try {
      for (const msg of this.messages.slice(from)) this.channel.nack(msg, false, true);
    } catch {
      // The channel is gone: the broker has requeued everything it held.
    }
  }
}
