/**
 * How much of a DLQ the tool may hold at once: a page of at most `maxMessages` messages and `maxBytes` of bodies.
 *
 * A message's size is only known once `basic.get` has handed it over, so a page stops taking once it holds
 * `maxBytes` or more: it never holds more than `maxBytes` plus one message (RabbitMQ's `max_message_size`,
 * 16 MiB on 4.x). It always takes at least one message, so a single message larger than the page still moves.
 */
export interface PageLimits {
  /** @defaultValue 1000 */
  maxMessages: number;
  /** @defaultValue 8 MiB (8388608) */
  maxBytes: number;
}

export const DEFAULT_PAGE_LIMITS: PageLimits = { maxMessages: 1000, maxBytes: 8 * 1024 * 1024 };

export class PageBudget {
  private messages = 0;
  private bytes = 0;

  constructor(private readonly limits: PageLimits) {
    if (!(limits.maxMessages >= 1 && limits.maxBytes >= 1)) throw new RangeError('a page holds at least one message and one byte');
  }

  /** Counts one message taken into the page. */
  add(bytes: number): void {
    this.messages++;
    this.bytes += bytes;
  }

  /** Bytes of bodies held in this page. */
  get heldBytes(): number {
    return this.bytes;
  }

  get heldMessages(): number {
    return this.messages;
  }

  /** Why the page may take no more, or undefined while it may. */
  get full(): 'messages' | 'bytes' | undefined {
    if (this.messages >= this.limits.maxMessages) return 'messages';
    if (this.bytes >= this.limits.maxBytes) return 'bytes';
    return undefined;
  }
}
