import type { AmqpConnectionManager, ChannelWrapper, CreateChannelOpts } from 'amqp-connection-manager';
import type { FakeChannel } from './fake-channel';
import { FakeChannelWrapper } from './fake-channel-wrapper';

/**
 * An always-connected amqp-connection-manager: hand {@link FakeConnectionManager.manager} to a Publisher or a
 * Consumer, then reach the fake broker channel behind each of their channels by name (`publisher`,
 * `consumer:<queue>`).
 */
export class FakeConnectionManager {
  readonly wrappers = new Map<string, FakeChannelWrapper>();
  readonly manager: AmqpConnectionManager;
  /** Given to every channel opened from now on: the broker refuses their declarations (see FakeChannel.refuse). */
  refuse?: Error;
  /** Given to every channel opened from now on: the broker refuses their `basic.consume` (see FakeChannel.refuseConsume). */
  refuseConsume?: Error;
  /** How often the core asked for a reconnect (the publisher does when the broker closed its channel). */
  reconnects = 0;

  constructor() {
    const createChannel = (options: CreateChannelOpts = {}): ChannelWrapper => {
      const wrapper = new FakeChannelWrapper(options);
      if (this.refuse) wrapper.channel.refuse = this.refuse;
      if (this.refuseConsume) wrapper.channel.refuseConsume = this.refuseConsume;
      this.wrappers.set(options.name ?? `channel-${this.wrappers.size + 1}`, wrapper);
      // The seam: the core calls only waitForConnect, publish, queueLength, close and on of a ChannelWrapper (FakeChannelWrapper
      // implements those against the real types), and only createChannel, isConnected, on and reconnect of the manager.
      return wrapper as unknown as ChannelWrapper;
    };
    // Always connected: no connection event ever comes.
    const on = () => this.manager;
    const reconnect = () => void this.reconnects++;
    this.manager = { createChannel, isConnected: () => true, on, reconnect } as Partial<AmqpConnectionManager> as AmqpConnectionManager;
  }

  /** The fake broker channel behind the named channel. */
  channel(name: string): FakeChannel {
    const wrapper = this.wrappers.get(name);
    if (!wrapper) throw new Error(`no channel named ${name}; have ${[...this.wrappers.keys()].join(', ') || 'none'}`);
    return wrapper.channel;
  }
}
