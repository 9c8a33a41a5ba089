/**
 * The one fleet the dlq suite (test/integration/dlq.test.ts) walks its DLQs through, and what its steps use: the
 * CLI run in this process, the fleet's metrics and HTTP reads, and raw broker reads and writes. One scenario, not a
 * fleet per step file: each step starts from what the step before left (the orders, the DLQ depths), as an operator's
 * session would, and every message there took real retry tiers to get to.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import amqplib from 'amqplib';
import type { ShowResult } from '../../../shared/dlq/dlq-admin';
import { runFleetDlqCli as runDlqCli } from '../../../workers/dlq';
import { http, orderRequest } from '../../helpers/api';
import { startTestFleet, type TestFleet } from '../../helpers/fleet';
import { queueDepths } from '../../helpers/raw-amqp';

export const ROOT = resolve(__dirname, '../../..');
export const PAYMENT = 'warren.payment';
export const PAYMENT_DLQ = 'warren.payment.dlq';
export const INVENTORY_DLQ = 'warren.inventory.dlq';
export const ORDER_DLQ = 'warren.order.dlq';
/** The queues of the three services this scenario is about; a service added to the registry is listed too, and ignored. */
export const THREE_QUEUES: readonly string[] = ['warren.order', 'warren.inventory', 'warren.payment'];
export const SECRET = 'tok_poison_secret';
/** Any payment token left unredacted: `tok_` followed by something other than `[redacted]`. */
export const LEAKED_TOKEN = /tok_(?!\[redacted\])/;

export const poisonBody = (orderId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    eventType: 'OrderPlaced',
    version: 2,
    eventId: `ev-${orderId}`,
    orderId,
    correlationId: orderId,
    customerId: 'c-1',
    items: [{ productId: 'P001', quantity: 1 }],
    totalAmount: 10,
    currency: 'USD',
    paymentToken: SECRET,
    timestamp: new Date().toISOString(),
    ...extra,
  });

/** The scenario's state and tools; `fleet` and `amqp` exist once its `before` hook has run. */
export type DlqScenario = ReturnType<typeof dlqScenario>;

/** Registers the scenario's hooks in the calling describe block and returns what its steps use. */
export function dlqScenario() {
  let fleet: TestFleet;
  let amqp: amqplib.ChannelModel;
  const printed: string[] = [];
  const orders: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };

  /** Runs the CLI in this process against the fleet's vhost; keeps everything it printed. */
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runDlqCli(argv, {
      env: { AMQP_URL: fleet.config.amqpUrl, EVENTS_EXCHANGE: fleet.config.eventsExchange },
      out: (s) => void (out += s),
      err: (s) => void (err += s),
      logDestination: fleet.logs,
    });
    printed.push(out, err);
    return { code, out, err, json: () => JSON.parse(out) as unknown };
  }
  const show = async (dlq: string, ...more: string[]) =>
    (await cli('show', dlq, '--json', '--limit', '1000', ...more)).json() as ShowResult;
  const depth = async (queue: string) => (await queueDepths(fleet.config.amqpUrl, [queue]))[queue]!;
  const orderPlacedSeenBy = async (service: 'inventory' | 'payment', outcome?: string) => {
    const { values } = await fleet.runtimes[service]!.metrics.consumed.get();
    return values
      .filter((v) => v.labels.event_type === 'OrderPlaced' && (!outcome || v.labels.outcome === outcome))
      .reduce((n, v) => n + v.value, 0);
  };
  const placeOrder = async () => {
    const res = await http('POST', `${fleet.urls.api}/orders`, orderRequest());
    assert.equal(res.status, 202);
    return res.body.orderId as string;
  };
  const dlqEntryOf = (shown: ShowResult, orderId: string) => shown.messages.filter((m) => m.orderId === orderId);
  const orderStatus = async (orderId: string) => (await http('GET', `${fleet.urls.api}/orders/${orderId}`)).body.status as string;
  const payment = async (orderId: string) => (await http('GET', `${fleet.urls.ops.payment}/payments/${orderId}`)).body;

  before(async () => {
    // Every charge fails, so payment's declared kill switch trips; a cool-down of 100 ms makes its probes walk each
    // message through its attempts into the DLQ at about the pace the retry tiers would.
    fleet = await startTestFleet({ PAYMENT_GATEWAY_FAILURE_RATE: '1', ORDER_TIMEOUT_MS: '600000', KILL_SWITCH_COOLDOWN_MS: '100' });
    amqp = await amqplib.connect(fleet.config.amqpUrl);
    await http('PUT', `${fleet.urls.ops.inventory}/stock/P001`, { available: 100 });
  });
  after(async () => {
    await amqp?.close().catch(() => undefined);
    await fleet?.stop();
  });

  /** Every message of a queue (body, properties, headers) by id, as the broker holds it; order is not kept here. */
  async function rawSnapshot(queue: string): Promise<Map<string, unknown[]>> {
    const channel = await amqp.createChannel();
    const byId = new Map<string, unknown[]>();
    try {
      for (let msg = await channel.get(queue); msg; msg = await channel.get(queue)) {
        // The queue's own counts of this message's deliveries (x-acquired-count from 4.3) move with every read.
        const { 'x-delivery-count': _count, 'x-acquired-count': _acquired, ...headers } = msg.properties.headers ?? {};
        const copies = byId.get(msg.properties.messageId as string) ?? [];
        copies.push({ content: msg.content.toString('base64'), properties: { ...msg.properties, headers } });
        byId.set(msg.properties.messageId as string, copies);
      }
    } finally {
      await channel.close();
    }
    return byId;
  }

  /** Publishes a second, identical copy of a DLQ message to the DLQ; the DLQ's order is not kept here. */
  async function duplicateInDlq(messageId: string): Promise<void> {
    const channel = await amqp.createConfirmChannel();
    try {
      for (let msg = await channel.get(PAYMENT_DLQ); msg; msg = await channel.get(PAYMENT_DLQ)) {
        if (msg.properties.messageId !== messageId) continue;
        const { headers, ...properties } = msg.properties;
        const kept = Object.fromEntries(Object.entries(properties).filter(([, v]) => v !== undefined));
        channel.sendToQueue(PAYMENT_DLQ, msg.content, { ...kept, headers });
        await channel.waitForConfirms();
        break;
      }
    } finally {
      await channel.close(); // hands every message it got back to the DLQ
    }
  }

  return {
    get fleet() {
      return fleet;
    },
    get amqp() {
      return amqp;
    },
    printed,
    orders,
    cli,
    show,
    depth,
    orderPlacedSeenBy,
    placeOrder,
    dlqEntryOf,
    orderStatus,
    payment,
    rawSnapshot,
    duplicateInDlq,
  };
}
