import type { ChannelModel, GetMessage } from 'amqplib';
import { DELIVERY_COUNT_HEADERS } from '../messaging/retry-policy';
import { withoutWarrenHeaders } from '../messaging/trusted-headers';

/** Messages taken per round before their copies' confirms are awaited and the originals acked. */
const BATCH = 200;

/**
 * Moves every message now in `from` to `to` (through the default exchange), keeping properties and headers. A
 * message is acked from `from` only after the broker confirmed its copy in `to`, so a crash or a lost connection
 * leaves it in `from` (at worst in both: consumers dedupe by event id). Returns how many moved.
 *
 * The default exchange is a trusted path (trusted-headers.ts): a message that reached `from` through any exchange
 * but `trustedExchange` (the queue's failures exchange) or the default one loses its `x-warren-*` headers on the
 * way, as its consumer would have dropped them, so a migration never launders a forged attempt count or origin.
 */
export async function moveMessages(model: ChannelModel, from: string, to: string, trustedExchange: string): Promise<number> {
  const reader = await model.createChannel();
  const writer = await model.createConfirmChannel();
  let returned = 0;
  writer.on('return', () => returned++);
  let moved = 0;
  try {
    for (;;) {
      const batch: GetMessage[] = [];
      for (let i = 0; i < BATCH; i++) {
        const message = await reader.get(from, { noAck: false });
        if (!message) break;
        batch.push(message);
      }
      if (batch.length === 0) return moved;
      for (const m of batch) {
        const { headers, ...properties } = m.properties;
        // The quorum queue's own delivery counts are not part of the message: the new queue starts counting afresh.
        const trusted = m.fields.exchange === '' || m.fields.exchange === trustedExchange;
        const own = trusted ? (headers ?? {}) : withoutWarrenHeaders(headers ?? {});
        const kept = Object.fromEntries(Object.entries(own).filter(([key]) => !DELIVERY_COUNT_HEADERS.includes(key)));
        writer.publish('', to, m.content, { ...stripUndefined(properties), headers: kept, persistent: true, mandatory: true });
      }
      await writer.waitForConfirms();
      if (returned > 0) {
        // A returned copy is confirmed all the same: keep the originals rather than trust the batch.
        reader.nack(batch[batch.length - 1]!, true, true);
        throw new Error(`${returned} message(s) could not be routed to ${to}; ${from} keeps them`);
      }
      reader.ack(batch[batch.length - 1]!, true);
      moved += batch.length;
    }
  } finally {
    await writer.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
  }
}

function stripUndefined(properties: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== undefined));
}
