import amqplib from 'amqplib';

/** Publishes raw bytes to an exchange with a plain amqplib confirm channel, as an outside publisher would. */
export async function publishRaw(
  url: string,
  exchange: string,
  routingKey: string,
  body: string | Buffer,
  properties: amqplib.Options.Publish = {},
): Promise<void> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, routingKey, Buffer.isBuffer(body) ? body : Buffer.from(body), properties);
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Message counts of queues, via a passive check. */
export async function queueDepths(url: string, queues: string[]): Promise<Record<string, number>> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    const depths: Record<string, number> = {};
    for (const queue of queues) depths[queue] = (await channel.checkQueue(queue)).messageCount;
    await channel.close();
    return depths;
  } finally {
    await connection.close();
  }
}

/** The messages now ready in a queue, read with basic.get and put back (the channel closes without acking them). */
export async function peekQueue(url: string, queue: string): Promise<amqplib.GetMessage[]> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    const messages: amqplib.GetMessage[] = [];
    for (let m = await channel.get(queue); m; m = await channel.get(queue)) messages.push(m);
    await channel.close();
    return messages;
  } finally {
    await connection.close();
  }
}

/** Reads (and acks) every message now in a queue: a consumer, since basic.get is one round trip a message. */
export async function drainQueue(url: string, queue: string, timeoutMs = 30_000): Promise<amqplib.ConsumeMessage[]> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    const { messageCount } = await channel.checkQueue(queue);
    const messages: amqplib.ConsumeMessage[] = [];
    if (messageCount > 0) {
      await channel.prefetch(500);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`drained ${messages.length} of ${messageCount} from ${queue}`)), timeoutMs);
        channel
          .consume(queue, (m) => {
            if (!m) return;
            messages.push(m);
            channel.ack(m);
            if (messages.length >= messageCount) {
              clearTimeout(timer);
              resolve();
            }
          })
          .catch(reject);
      });
    }
    await channel.close();
    return messages;
  } finally {
    await connection.close();
  }
}
