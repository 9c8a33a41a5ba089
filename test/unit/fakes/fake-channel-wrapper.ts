import { EventEmitter } from 'node:events';
import type { ChannelWrapper, CreateChannelOpts, Options } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { FakeChannel } from './fake-channel';

/**
 * amqp-connection-manager's ChannelWrapper over one {@link FakeChannel} that never drops: `setup` runs once, at
 * creation, and a publish settles as the fake broker confirms it, or fails with the wrapper's own
 * `Error('timeout')` once its timeout passes. Reconnects are the integration tier's business.
 */
export class FakeChannelWrapper
  extends EventEmitter
  implements Pick<ChannelWrapper, 'waitForConnect' | 'publish' | 'close' | 'queueLength'>
{
  readonly channel = new FakeChannel();
  closed = false;
  /** Publishes that came through the wrapper (its queue) rather than straight onto the channel. */
  queued = 0;
  private readonly connected: Promise<void>;

  constructor(readonly options: CreateChannelOpts) {
    super();
    this.channel.confirmMode = options.confirm !== false;
    this.connected = this.runSetup();
    // The real wrapper reports a failed setup as an `error` event; waitForConnect still resolves.
    this.connected.catch(() => undefined);
  }

  waitForConnect(): Promise<void> {
    return this.connected;
  }

  async publish(exchange: string, routingKey: string, content: unknown, options: Options.Publish = {}): Promise<boolean> {
    this.queued++;
    const { timeout, ...publishOptions } = options;
    const timeoutMs = timeout || this.options.publishTimeout;
    await this.connected;
    if (!Buffer.isBuffer(content)) throw new TypeError('the fake takes Buffer content only (Warren never sets `json`)');
    if (this.options.confirm === false) return this.channel.publish(exchange, routingKey, content, publishOptions);
    return new Promise<boolean>((resolve, reject) => {
      let timedOut = false;
      const timer = timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            reject(new Error('timeout'));
          }, timeoutMs)
        : undefined;
      this.channel.publish(exchange, routingKey, content, publishOptions, (err) => {
        if (timedOut) return;
        clearTimeout(timer);
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(true);
      });
    });
  }

  /** Nothing ever waits in the fake's queue: it is always connected. */
  queueLength(): number {
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emit('close');
  }

  private async runSetup(): Promise<void> {
    // The seam: Warren's setups are all promise-style and use only the methods FakeChannel implements (checked
    // against amqplib's ConfirmChannel by its `implements` clause), so the rest of the interface is never reached.
    const setup = this.options.setup as ((channel: ConfirmChannel) => Promise<void>) | undefined;
    try {
      await setup?.(this.channel as unknown as ConfirmChannel);
    } catch (error) {
      this.emit('error', error, { name: this.options.name });
      throw error;
    }
  }
}
