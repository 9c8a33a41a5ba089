import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import type { ReplayResult } from '../../shared/dlq/dlq-admin';
import { DEFAULT_PAGE_LIMITS } from '../../shared/dlq/page-budget';
import { runFleetDlqCli as runDlqCli } from '../../workers/dlq';
import { createVhost, deleteVhost } from '../helpers/broker';
import { LogCapture } from '../helpers/log-capture';
import { queueDepths } from '../helpers/raw-amqp';

/** amqplib's Channel.prototype (not exported): every channel the tool opens inherits get, ack, nack and close. */
let channelPrototype: Record<string, (...args: unknown[]) => unknown>;

const QUEUE = 'warren.payment';
const DLQ = `${QUEUE}.dlq`;
const MiB = 1024 * 1024;
/** 16 dead letters of 1 to 2 MiB (24 MiB in all): three times the tool's page of bodies. */
const SIZES = Array.from({ length: 16 }, (_, i) => MiB + i * 64 * 1024);
const IDS = SIZES.map((_, i) => `big-${String(i).padStart(2, '0')}`);
const TOTAL = SIZES.reduce((a, b) => a + b, 0);
/** A page stops taking once it holds its bytes, so it may go over them by one message, never more. */
const PAGE_BOUND = DEFAULT_PAGE_LIMITS.maxBytes + Math.max(...SIZES);

/**
 * Bytes of message bodies the tool holds: every delivery its channels took by `basic.get` and have not yet
 * settled (ack, nack, or the channel's close, which hands them back). Measured on amqplib's Channel itself, so it
 * counts what the tool really keeps, whatever its own bookkeeping says.
 */
class HeldBytes {
  peak = 0;
  private held = 0;
  private readonly byChannel = new Map<object, Map<number, number>>();
  private readonly originals: Record<string, unknown> = {};

  install(): void {
    const proto = channelPrototype;
    for (const name of ['get', 'ack', 'nack', 'close']) this.originals[name] = proto[name];
    const original = this.originals as Record<string, (...args: unknown[]) => unknown>;
    // The patched methods run with the channel as `this`; the counter is reached through these.
    const take = (channel: object, tag: number, bytes: number) => this.take(channel, tag, bytes);
    const settle = (channel: object, tag: number) => this.settle(channel, tag);
    const heldOn = (channel: object) => [...(this.byChannel.get(channel)?.keys() ?? [])];
    proto['get'] = async function (this: object, ...args: unknown[]) {
      const msg = (await original['get']!.apply(this, args)) as amqplib.GetMessage | false;
      if (msg) take(this, msg.fields.deliveryTag, msg.content.length);
      return msg;
    };
    proto['ack'] = function (this: object, ...args: unknown[]) {
      settle(this, (args[0] as amqplib.Message).fields.deliveryTag);
      return original['ack']!.apply(this, args);
    };
    proto['nack'] = function (this: object, ...args: unknown[]) {
      settle(this, (args[0] as amqplib.Message).fields.deliveryTag);
      return original['nack']!.apply(this, args);
    };
    proto['close'] = function (this: object, ...args: unknown[]) {
      for (const tag of heldOn(this)) settle(this, tag);
      return original['close']!.apply(this, args);
    };
  }

  uninstall(): void {
    Object.assign(channelPrototype, this.originals);
  }

  private take(channel: object, tag: number, bytes: number): void {
    const held = this.byChannel.get(channel) ?? new Map<number, number>();
    this.byChannel.set(channel, held.set(tag, bytes));
    this.held += bytes;
    this.peak = Math.max(this.peak, this.held);
  }

  private settle(channel: object, tag: number): void {
    const held = this.byChannel.get(channel);
    this.held -= held?.get(tag) ?? 0;
    held?.delete(tag);
  }
}

/** A message's own properties, to publish a copy of it (amqplib hands absent ones over as undefined). */
function propertiesOf(msg: amqplib.Message): amqplib.Options.Publish {
  return Object.fromEntries(Object.entries(msg.properties).filter(([, v]) => v !== undefined)) as amqplib.Options.Publish;
}

describe('DLQ tool on a DLQ larger than its page (real broker): bounded memory, nothing lost or doubled', function () {
  this.timeout(300_000);
  let vhost = '';
  let url = '';
  let connection: amqplib.ChannelModel;
  const logs = new LogCapture();

  /** Runs the CLI as an operator would, measuring the bytes of bodies it holds at its peak. */
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const held = new HeldBytes();
    held.install();
    try {
      const code = await runDlqCli(argv, {
        env: { AMQP_URL: url },
        out: (s) => void (out += s),
        err: (s) => void (err += s),
        logDestination: logs,
      });
      return { code, out, err, peak: held.peak };
    } finally {
      held.uninstall();
    }
  }

  /** The ids in a queue, head first; every message is put back at the tail in order, so the queue is unchanged. */
  async function idsIn(queue: string): Promise<string[]> {
    const channel = await connection.createConfirmChannel();
    try {
      const messages: amqplib.GetMessage[] = [];
      for (let msg = await channel.get(queue); msg; msg = await channel.get(queue)) messages.push(msg);
      for (const msg of messages) channel.sendToQueue(queue, msg.content, propertiesOf(msg));
      await channel.waitForConfirms();
      for (const msg of messages) channel.ack(msg);
      return messages.map((m) => m.properties.messageId as string);
    } finally {
      await channel.close();
    }
  }
  const depth = async (queue: string) => (await queueDepths(url, [queue]))[queue]!;

  before(async () => {
    ({ vhost, url } = await createVhost('warren-dlq-bounded'));
    connection = await amqplib.connect(url);
    const plain = await connection.createChannel();
    channelPrototype = Object.getPrototypeOf(plain) as typeof channelPrototype;
    await plain.close();
    const channel = await connection.createConfirmChannel();
    // The events exchange: the tool's publisher looks for it, as every Warren publisher does.
    await channel.assertExchange('warren.events', 'topic', { durable: true });
    for (const queue of [QUEUE, DLQ]) await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (const [i, size] of SIZES.entries()) {
      const head = JSON.stringify({ eventType: 'OrderPlaced', orderId: `o-${i}`, paymentToken: 'tok_big_secret', padding: '' });
      const body = Buffer.alloc(size, 0x61);
      body.write(head.slice(0, -2), 'utf8'); // the padding string runs to the end of the body: JSON cut short
      channel.sendToQueue(DLQ, body, {
        messageId: IDS[i],
        persistent: true,
        headers: { 'x-warren-queue': QUEUE, 'x-warren-reason': 'too big', 'x-warren-reason-code': 'TEST' },
      });
      await channel.waitForConfirms();
    }
    await channel.close();
    assert.ok(TOTAL > 2 * PAGE_BOUND, 'the DLQ is well over one page');
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await deleteVhost(vhost);
  });

  it('show --limit 1 takes one message off the broker, says what it did not read, and leaves all 16 in order', async () => {
    const shown = await cli('show', DLQ, '--limit', '1', '--body');
    assert.equal(shown.code, 0, shown.err);
    assert.equal(shown.peak, SIZES[0], 'it held the one message it showed, and nothing else');
    assert.match(shown.out, /^warren\.payment\.dlq: 16 messages, showing the first 1; 15 not read\n/);
    assert.equal(shown.out.match(/^#\d/gm)?.length, 1);
    assert.ok(!shown.out.includes('big_secret'), 'the body of a JSON cut short shows no token');
    assert.equal(await depth(DLQ), 16);
    assert.deepEqual(await idsIn(DLQ), IDS, 'every message, in order');
  });

  it('show with a high --limit stops at one page and says so', async () => {
    const shown = await cli('show', DLQ, '--limit', '100', '--json');
    assert.equal(shown.code, 0, shown.err);
    const result = JSON.parse(shown.out) as { depth: number; notRead: number; pageFull?: string; messages: unknown[] };
    assert.equal(result.depth, 16);
    assert.equal(result.pageFull, 'bytes');
    assert.equal(result.messages.length + result.notRead, 16);
    assert.ok(result.messages.length < 16 && result.messages.length >= 1);
    assert.ok(shown.peak <= PAGE_BOUND, `held ${shown.peak} bytes at its peak, over a page (${PAGE_BOUND})`);
    assert.deepEqual(await idsIn(DLQ), IDS);
  });

  it('replay --all --dry-run walks the whole DLQ a page at a time and changes nothing', async () => {
    const dry = await cli('replay', DLQ, '--all', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.err);
    assert.ok(dry.peak <= PAGE_BOUND, `held ${dry.peak} bytes at its peak, over a page (${PAGE_BOUND})`);
    const result = JSON.parse(dry.out) as ReplayResult;
    assert.deepEqual(
      result.replayed.map((r) => [r.position, r.messageId]),
      IDS.map((id, i) => [i + 1, id]),
    );
    assert.ok(result.pages >= 3, `${result.pages} pages`);
    assert.deepEqual(await idsIn(DLQ), IDS, 'same messages, same order');
    assert.equal(await depth(QUEUE), 0);
  });

  it('replay --id moves that one message, walks the rest through in order', async () => {
    const one = await cli('replay', DLQ, '--id', 'big-09', '--json');
    assert.equal(one.code, 0, one.err);
    assert.deepEqual(
      (JSON.parse(one.out) as ReplayResult).replayed.map((r) => r.messageId),
      ['big-09'],
    );
    assert.ok(one.peak <= PAGE_BOUND, `held ${one.peak} bytes`);
    assert.deepEqual(
      await idsIn(DLQ),
      IDS.filter((id) => id !== 'big-09'),
    );
    assert.deepEqual(await idsIn(QUEUE), ['big-09']);
  });

  it('replay --all moves every message to its queue exactly once, in order, a page at a time', async () => {
    const all = await cli('replay', DLQ, '--all', '--json');
    assert.equal(all.code, 0, all.err);
    const result = JSON.parse(all.out) as ReplayResult;
    assert.equal(result.replayed.length, 15);
    assert.equal(result.remaining, 0);
    assert.ok(all.peak <= PAGE_BOUND, `held ${all.peak} bytes at its peak, over a page (${PAGE_BOUND})`);
    assert.equal(await depth(DLQ), 0);
    assert.deepEqual(await idsIn(QUEUE), ['big-09', ...IDS.filter((id) => id !== 'big-09')], 'none lost, none twice');
  });

  it('purge empties a DLQ larger than a page without taking a message', async () => {
    const channel = await connection.createConfirmChannel();
    for (let msg = await channel.get(QUEUE); msg; msg = await channel.get(QUEUE)) {
      channel.sendToQueue(DLQ, msg.content, propertiesOf(msg));
      await channel.waitForConfirms();
      channel.ack(msg);
    }
    await channel.close();
    const purged = await cli('purge', DLQ, '--yes', '--json');
    assert.deepEqual(JSON.parse(purged.out), { dlq: DLQ, purged: 16 });
    assert.equal(purged.peak, 0);
    assert.equal(await depth(DLQ), 0);
  });
});
