import type { Channel } from 'amqplib';
import type { QueueDeclaration } from './topology';

/** One argument of an existing queue that differs from what the code declares. */
export interface QueueDrift {
  queue: string;
  /** e.g. `x-delivery-limit`, `x-queue-type`. */
  argument: string;
  /** What the code declares, as the broker printed it; `none` when the code sets no value. */
  declared: string;
  /** What the queue has. */
  actual: string;
}

/**
 * Reads the broker's refusal of a redeclaration. RabbitMQ (3.10 and 4.x alike) names the first inequivalent
 * argument and both values: `inequivalent arg 'x-delivery-limit' for queue 'q' in vhost 'v': received '9' but
 * current is '8'` (or `received none`, or `the value '8' of type 'byte'`). The AMQP reply carries nothing more
 * structured, and the management API is not something every service user may read.
 */
export function parseInequivalentArg(message: string): QueueDrift | undefined {
  const match = /inequivalent arg '([^']+)' for queue '(.+?)' in vhost '.*?': received (.+?) but current is (.+?)"?$/.exec(message);
  if (!match) return undefined;
  return { argument: match[1]!, queue: match[2]!, declared: valueOf(match[3]!), actual: valueOf(match[4]!) };
}

function valueOf(text: string): string {
  return /'([^']*)'/.exec(text)?.[1] ?? text.trim();
}

/** Whether `error` is the broker's 406 for a queue whose arguments differ. */
export function isPreconditionFailed(error: unknown): boolean {
  return /PRECONDITION[-_]FAILED/.test(String((error as Error)?.message));
}

export type ProbeResult = { kind: 'declared' } | { kind: 'drift'; drift: QueueDrift } | { kind: 'missing' };

/**
 * Declares queues on a channel of its own, so that a refused declaration (406, which closes the channel) never
 * takes down the channel a consumer or the publisher is being set up on. A refusal is drift, not a failure: the
 * queue exists and keeps its old arguments. A channel is reopened only after a refusal.
 */
export class ProbeSession {
  private channel?: Channel;

  constructor(private readonly open: () => Promise<Channel>) {}

  /**
   * `passive`: only look (the plan): a missing queue is reported, never created. Otherwise a missing queue is
   * declared with the code's arguments, as a plain declare would.
   */
  async declare(declaration: QueueDeclaration, passive = false): Promise<ProbeResult> {
    if (passive && !(await this.exists(declaration.name))) return { kind: 'missing' };
    try {
      await (await this.current()).assertQueue(declaration.name, declaration.options);
      return { kind: 'declared' };
    } catch (error) {
      this.channel = undefined;
      const drift = isPreconditionFailed(error) ? parseInequivalentArg((error as Error).message) : undefined;
      if (!drift) throw error;
      return { kind: 'drift', drift };
    }
  }

  /** A passive declare: true when the queue exists (a 404 closes the channel, so it is reopened next time). */
  async exists(queue: string): Promise<boolean> {
    try {
      await (await this.current()).checkQueue(queue);
      return true;
    } catch (error) {
      this.channel = undefined;
      if (/NOT[-_]FOUND/.test(String((error as Error)?.message))) return false;
      throw error;
    }
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private async current(): Promise<Channel> {
    if (!this.channel) {
      const channel = await this.open();
      // The broker's channel error is the answer we asked for; without a listener it would be thrown as an event.
      channel.on('error', () => undefined);
      this.channel = channel;
    }
    return this.channel;
  }
}
