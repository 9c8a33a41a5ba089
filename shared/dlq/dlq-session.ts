import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import type { Publisher, PublishProperties } from '../messaging/publisher';

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
 * Holds every message of a DLQ (basic.get, no ack), so that they can be read, and then settles each one by
 * moving it: to its failing queue (a replay) or back to the DLQ's own tail (everything else, in order).
 *
 * Why get-all-then-republish rather than get-then-nack-requeue: a classic queue puts a requeued message back
 * where it was, but a quorum queue (our default) appends returned messages to its tail, and returns them in no
 * stable order when many are requeued at once (measured on RabbitMQ 3.10: 100 messages nacked one by one came
 * back shuffled). It also counts each return as a delivery, and RabbitMQ 4 gives quorum queues a default
 * delivery limit, past which a peeked message would be dropped from a DLQ that has no dead-letter target
 * of its own. Taking the whole queue and re-publishing it in order keeps the order for both queue types and
 * costs one confirmed publish per message.
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
    /** The DLQ's messages, head first. */
    readonly messages: readonly GetMessage[],
    /** True when `maxMessages` stopped the read with messages left behind (they keep their place ahead). */
    readonly truncated: boolean,
  ) {}

  static async open(connection: ChannelModel, dlq: string, maxMessages: number): Promise<DlqSession> {
    const channel = await connection.createChannel();
    // A broker-closed channel also rejects the pending call, which is where the error is handled.
    channel.on('error', () => undefined);
    const messages: GetMessage[] = [];
    try {
      while (messages.length < maxMessages) {
        const msg = await channel.get(dlq, { noAck: false });
        if (!msg) break;
        messages.push(msg);
      }
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw error;
    }
    const truncated = messages.length >= maxMessages && (messages.at(-1)?.fields.messageCount ?? 0) > 0;
    return new DlqSession(channel, dlq, messages, truncated);
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
