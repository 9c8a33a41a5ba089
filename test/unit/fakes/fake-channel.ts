import { EventEmitter } from 'node:events';
import type {
  ConfirmChannel,
  Connection,
  ConsumeMessage,
  GetMessage,
  Message,
  MessageFields,
  MessageProperties,
  Options,
  Replies,
} from 'amqplib';

/**
 * How the fake broker settles a publish: `ack` confirms it, `nack` fails its confirm, `return` hands it back as
 * unroutable (basic.return, then the confirm, as RabbitMQ does for a mandatory message no queue takes), `closed`
 * fails it as amqplib does when the channel dies under it, and `never` leaves it to the test ({@link Published.settle})
 * or to a timeout.
 */
export type Confirm = 'ack' | 'nack' | 'return' | 'closed' | 'never';

export interface Published {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
  /** Settles a publish left pending (`never`); settling one twice throws. */
  settle(outcome: Exclude<Confirm, 'never'>): void;
}

/** What happened to a delivery, as the broker saw it. */
export type Settlement = 'ack' | 'requeue' | 'reject';

/** The methods of amqplib's channel that the core calls: the fake is checked against their real signatures. */
type Used =
  | 'connection'
  | 'checkExchange'
  | 'checkQueue'
  | 'assertExchange'
  | 'assertQueue'
  | 'bindQueue'
  | 'prefetch'
  | 'close'
  | 'consume'
  | 'cancel'
  | 'get'
  | 'ack'
  | 'nack'
  | 'publish';

/**
 * An amqplib (confirm) channel with a broker of one's own behind it: it records topology and settle calls, lets
 * the test deliver to the registered consumer, and settles each publish as {@link FakeChannel.confirm} says.
 */
export class FakeChannel extends EventEmitter implements Pick<ConfirmChannel, Used> {
  /** The broker's identity as it announced it at connection start (its version shapes the topology plan). */
  readonly connection: Connection = {
    serverProperties: { host: 'fake', product: 'RabbitMQ', version: '4.1.0', platform: 'fake', information: 'a fake broker' },
  };
  /** Topology and consumer calls, in order: `assertQueue q`, `bindQueue q ex key`, `consume q`, … */
  readonly calls: string[] = [];
  /** Ack and nack frames as sent, in the ack-batcher spec's notation: `ack 3 multiple`, `nack 1 requeue`. */
  readonly frames: string[] = [];
  readonly published: Published[] = [];
  /** Protocol errors a real broker would close the channel for (a delivery tag settled twice). */
  readonly violations: string[] = [];
  /** How the next publishes are settled: one outcome for all, or one chosen per publish. */
  confirm: Confirm | ((publish: Published) => Confirm) = 'ack';
  /** The socket's buffer is past its high-water mark: `publish` takes the message but returns false (emit `drain` to clear). */
  socketFull = false;
  /** Thrown by the next publishes, as amqplib throws for a closed channel or a property it cannot encode. */
  refusePublish?: Error;
  /** When set, the broker refuses queue declarations with it and closes the channel (a revoked permission). */
  refuse?: Error;
  /** When set, the broker refuses `basic.consume` with it and closes the channel (read permission revoked). */
  refuseConsume?: Error;
  /**
   * A channel opened without `confirm` is amqplib's plain Channel: the broker sends no confirms, so a publish
   * callback is never called (its confirm is waited for in vain, until a timeout).
   */
  confirmMode = true;
  /** Messages waiting in a queue for `basic.get`, by queue. */
  readonly waiting = new Map<string, { content: Buffer; props: Partial<MessageProperties> }[]>();
  private readonly consumers = new Map<string, { queue: string; onMessage: (msg: ConsumeMessage | null) => void }>();
  private readonly settled = new Map<number, Settlement>();
  private nextTag = 1;

  /** Exchanges and queues this broker has (declared on it, or put there by the test): what a passive declare finds. */
  readonly exchanges = new Set<string>();
  readonly queues = new Set<string>();

  async checkExchange(exchange: string): Promise<Replies.Empty> {
    this.calls.push(`checkExchange ${exchange}`);
    if (!this.exchanges.has(exchange)) throw notFound('exchange', exchange);
    return {};
  }

  async checkQueue(queue: string): Promise<Replies.AssertQueue> {
    this.calls.push(`checkQueue ${queue}`);
    if (!this.queues.has(queue)) throw notFound('queue', queue);
    return { queue, messageCount: 0, consumerCount: 0 };
  }

  async assertExchange(exchange: string, type: string): Promise<Replies.AssertExchange> {
    this.calls.push(`assertExchange ${exchange} ${type}`);
    this.exchanges.add(exchange);
    return { exchange };
  }

  async assertQueue(queue = '', options?: Options.AssertQueue): Promise<Replies.AssertQueue> {
    if (this.refuse) {
      setImmediate(() => this.closeByBroker());
      throw this.refuse;
    }
    this.calls.push(`assertQueue ${queue}${options?.arguments?.['x-message-ttl'] ? ` ttl=${options.arguments['x-message-ttl']}` : ''}`);
    this.queues.add(queue);
    return { queue, messageCount: 0, consumerCount: 0 };
  }

  async bindQueue(queue: string, source: string, pattern: string): Promise<Replies.Empty> {
    this.calls.push(`bindQueue ${queue} ${source} ${pattern}`);
    return {};
  }

  /** Closed by its user (a topology look's own channel): recorded only; the broker's close is {@link closeByBroker}. */
  async close(): Promise<void> {
    this.calls.push('close');
  }

  async prefetch(count: number): Promise<Replies.Empty> {
    this.calls.push(`prefetch ${count}`);
    return {};
  }

  async consume(queue: string, onMessage: (msg: ConsumeMessage | null) => void, options?: Options.Consume): Promise<Replies.Consume> {
    if (this.refuseConsume) {
      setImmediate(() => this.closeByBroker());
      throw this.refuseConsume;
    }
    const consumerTag = `ctag-${this.consumers.size + 1}`;
    this.consumers.set(consumerTag, { queue, onMessage });
    this.calls.push(`consume ${queue}${options?.noAck ? ' noAck' : ''}`);
    return { consumerTag };
  }

  async cancel(consumerTag: string): Promise<Replies.Cancel> {
    this.consumers.delete(consumerTag);
    this.calls.push(`cancel ${consumerTag}`);
    return { consumerTag };
  }

  async get(queue: string): Promise<GetMessage | false> {
    this.calls.push(`get ${queue}`);
    const next = this.waiting.get(queue)?.shift();
    if (!next) return false;
    const fields = { deliveryTag: this.nextTag++, redelivered: false, exchange: 'test.events', routingKey: 'test.key', messageCount: 0 };
    return { content: next.content, fields, properties: properties(next.props) };
  }

  /** The broker's `basic.cancel` (its queue was deleted): every consumer of `queue` gets `null` and is gone. */
  cancelByBroker(queue: string): void {
    this.queues.delete(queue);
    for (const [tag, consumer] of [...this.consumers.entries()].filter(([, c]) => c.queue === queue)) {
      this.consumers.delete(tag);
      consumer.onMessage(null);
    }
  }

  /** The broker closes the channel (a channel error): its consumers are gone, and amqplib emits `close`. */
  closeByBroker(): void {
    this.consumers.clear();
    this.emit('close');
  }

  ack(message: Message, allUpTo = false): void {
    this.frames.push(`ack ${message.fields.deliveryTag}${allUpTo ? ' multiple' : ''}`);
    this.settle(message.fields.deliveryTag, allUpTo, 'ack');
  }

  nack(message: Message, allUpTo = false, requeue = true): void {
    this.frames.push(`nack ${message.fields.deliveryTag}${allUpTo ? ' multiple' : ''}${requeue ? ' requeue' : ''}`);
    this.settle(message.fields.deliveryTag, allUpTo, requeue ? 'requeue' : 'reject');
  }

  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish = {},
    callback?: (err: unknown, ok: Replies.Empty) => void,
  ): boolean {
    if (this.refusePublish) throw this.refusePublish;
    let done = false;
    const publish: Published = {
      exchange,
      routingKey,
      content,
      options,
      settle: (outcome) => {
        if (done) throw new Error(`publish to ${exchange}/${routingKey} settled twice`);
        done = true;
        if (outcome === 'return')
          this.emit('return', {
            content,
            fields: { exchange, routingKey, deliveryTag: 0, redelivered: false },
            properties: properties(options),
          });
        if (outcome === 'nack') callback?.(new Error('message nacked'), {});
        else if (outcome === 'closed') callback?.(new Error('Channel closed'), {});
        else callback?.(null, {});
      },
    };
    this.published.push(publish);
    if (!this.confirmMode) return !this.socketFull;
    const outcome = typeof this.confirm === 'function' ? this.confirm(publish) : this.confirm;
    // A broker's confirm arrives on a later turn, never inside publish().
    if (outcome !== 'never') setImmediate(() => publish.settle(outcome));
    return !this.socketFull;
  }

  /** Delivers a message to the consumer of `queue`, as the broker would; returns it for settle checks. */
  deliver(
    queue: string,
    content: Buffer,
    props: Partial<MessageProperties> = {},
    from: Partial<Pick<MessageFields, 'exchange' | 'routingKey'>> = {},
  ): ConsumeMessage {
    const consumer = [...this.consumers.entries()].find(([, c]) => c.queue === queue);
    if (!consumer) throw new Error(`no consumer on ${queue}`);
    const [consumerTag, { onMessage }] = consumer;
    const fields = {
      deliveryTag: this.nextTag++,
      redelivered: false,
      exchange: 'test.events',
      routingKey: 'test.key',
      ...from,
      consumerTag,
    };
    const msg: ConsumeMessage = { content, fields, properties: properties(props) };
    onMessage(msg);
    return msg;
  }

  /** How the broker settled a delivery, if it has (a multiple ack counts for every tag it covers). */
  settlement(msg: Message): Settlement | undefined {
    return this.settled.get(msg.fields.deliveryTag);
  }

  private settle(tag: number, allUpTo: boolean, how: Settlement): void {
    if (this.settled.has(tag) || tag >= this.nextTag) this.violations.push(`unknown delivery tag ${tag}`);
    const tags = allUpTo ? Array.from({ length: tag }, (_, i) => i + 1).filter((t) => !this.settled.has(t)) : [tag];
    for (const t of tags) this.settled.set(t, how);
  }
}

/** amqplib fills every property, `undefined` where the message has none. */
const NO_PROPERTIES: MessageProperties = {
  contentType: undefined,
  contentEncoding: undefined,
  headers: undefined,
  deliveryMode: undefined,
  priority: undefined,
  correlationId: undefined,
  replyTo: undefined,
  expiration: undefined,
  messageId: undefined,
  timestamp: undefined,
  type: undefined,
  userId: undefined,
  appId: undefined,
  clusterId: undefined,
};

function properties(p: Partial<MessageProperties>): MessageProperties {
  return { ...NO_PROPERTIES, ...p };
}

/** What amqplib reports for a passive declare of what the broker lacks (the channel is closed with it). */
function notFound(kind: 'exchange' | 'queue', name: string): Error {
  return Object.assign(
    new Error(
      `Operation failed: ${kind === 'queue' ? 'QueueDeclare' : 'ExchangeDeclare'}; 404 (NOT-FOUND) with message "NOT_FOUND - no ${kind} '${name}'"`,
    ),
    { code: 404 },
  );
}
