import assert from 'node:assert/strict';
import type { ChannelModel, GetMessage } from 'amqplib';
import { DlqSession } from '../../shared/dlq/dlq-session';
import { PageBudget } from '../../shared/dlq/page-budget';
import { redactBody } from '../../shared/dlq/redact';
import { planReplay, type ReplayState } from '../../shared/dlq/replay-plan';

/** A DLQ on a fake channel: `basic.get` hands out its messages head first, with the broker's count of the rest. */
function fakeDlq(sizes: number[], version = '3.10.8') {
  const queue = sizes.map((size, i) => ({ id: `m-${i}`, content: Buffer.alloc(size, 0x61) }));
  const taken: string[] = [];
  const settled: string[] = [];
  let tag = 0;
  const channel = {
    connection: { serverProperties: { version } },
    on: () => undefined,
    get: async (): Promise<GetMessage | false> => {
      const next = queue.shift();
      if (!next) return false;
      taken.push(next.id);
      return {
        content: next.content,
        fields: { deliveryTag: ++tag, messageCount: queue.length, redelivered: false, exchange: '', routingKey: 'q.dlq' },
        properties: { messageId: next.id, headers: { 'x-warren-queue': 'q' } },
      } as unknown as GetMessage;
    },
    ack: (msg: GetMessage) => void settled.push(`ack ${String(msg.properties.messageId)}`),
    nack: (msg: GetMessage) => void settled.push(`nack ${String(msg.properties.messageId)}`),
    close: async () => void settled.push('close'),
  };
  const connection = { createChannel: async () => channel } as unknown as ChannelModel;
  return { connection, taken, settled, left: () => queue.length };
}

const KiB = 1024;

describe('DLQ tool bounds (pure and fake channel)', () => {
  describe('PageBudget', () => {
    it('is full at its message count, or once it holds its bytes: never over them by more than one message', () => {
      const byCount = new PageBudget({ maxMessages: 2, maxBytes: 1000 });
      byCount.add(1);
      assert.equal(byCount.full, undefined);
      byCount.add(1);
      assert.equal(byCount.full, 'messages');
      const byBytes = new PageBudget({ maxMessages: 100, maxBytes: 1000 });
      for (const size of [400, 400]) byBytes.add(size);
      assert.equal(byBytes.full, undefined, '800 of 1000 bytes: one more may come');
      byBytes.add(700);
      assert.equal(byBytes.full, 'bytes');
      assert.equal(byBytes.heldBytes, 1500);
      assert.throws(() => new PageBudget({ maxMessages: 0, maxBytes: 1 }), RangeError);
    });

    it('always takes a first message, however large', () => {
      const budget = new PageBudget({ maxMessages: 10, maxBytes: 1 });
      assert.equal(budget.full, undefined);
      budget.add(16 * 1024 * KiB);
      assert.equal(budget.full, 'bytes');
    });
  });

  describe('DlqSession.open', () => {
    it('takes one page off the head by bytes, and leaves the rest on the broker unread', async () => {
      const dlq = fakeDlq(Array.from({ length: 20 }, () => 300 * KiB));
      const session = await DlqSession.open(dlq.connection, 'q.dlq', 1000, 1000 * KiB);
      assert.deepEqual(dlq.taken, ['m-0', 'm-1', 'm-2', 'm-3']);
      assert.equal(session.heldBytes, 1200 * KiB);
      assert.equal(session.stoppedBy, 'bytes');
      assert.equal(session.remaining, 16);
      assert.equal(session.exhausted, false);
      assert.equal(dlq.left(), 16);
    });

    it('stops at its message count (a show --limit) and says the DLQ is exhausted only when nothing is behind', async () => {
      const one = fakeDlq([10, 10, 10]);
      const head = await DlqSession.open(one.connection, 'q.dlq', 1);
      assert.deepEqual([one.taken, head.stoppedBy, head.remaining, head.exhausted], [['m-0'], 'messages', 2, false]);
      const all = fakeDlq([10, 10]);
      const whole = await DlqSession.open(all.connection, 'q.dlq', 2);
      assert.deepEqual([whole.remaining, whole.exhausted], [0, true]);
      const empty = await DlqSession.open(fakeDlq([]).connection, 'q.dlq', 5);
      assert.deepEqual([empty.messages.length, empty.stoppedBy, empty.exhausted], [0, 'empty', true]);
    });

    it('hands a page back untouched: a plain close on RabbitMQ 3.x, nacks in order then a close on 4.x', async () => {
      const three = fakeDlq([10, 10, 10]);
      await (await DlqSession.open(three.connection, 'q.dlq', 2)).handBack();
      assert.deepEqual(three.settled, ['close']);
      const four = fakeDlq([10, 10, 10], '4.3.6');
      await (await DlqSession.open(four.connection, 'q.dlq', 2)).handBack();
      assert.deepEqual(four.settled, ['nack m-0', 'nack m-1', 'close']);
    });
  });

  describe('planReplay across pages', () => {
    it('numbers positions on from the previous page and replays only the first message with the id', async () => {
      const dlq = fakeDlq([1, 1, 1, 1]);
      const page1 = await DlqSession.open(dlq.connection, 'q.dlq', 2);
      const page2 = await DlqSession.open(dlq.connection, 'q.dlq', 2);
      const state: ReplayState = { position: 0, matched: false };
      const target = { dlq: 'q.dlq', source: 'q' };
      const first = planReplay(page1.messages, target, { id: 'm-1' }, false, new Date(), state);
      const second = planReplay(page2.messages, target, { id: 'm-1' }, false, new Date(), state);
      assert.deepEqual(
        first.replayed.map((r) => [r.position, r.messageId]),
        [[2, 'm-1']],
      );
      assert.deepEqual(
        second.moves.map((m) => m.queue),
        ['q.dlq', 'q.dlq'],
      );
      assert.equal(state.position, 4);
      assert.equal(second.notFound, false, 'found on an earlier page');
      const all = planReplay(page2.messages, target, { all: true }, true, new Date(), { position: 2, matched: false });
      assert.deepEqual(
        all.replayed.map((r) => r.position),
        [3, 4],
      );
    });
  });

  describe('redactBody of a body cut short', () => {
    const SECRET = 'tok_cut_secret_9';
    const json = JSON.stringify({
      orderId: 'o-1',
      paymentToken: SECRET,
      card: { number: '4111111111111111', cvv: '123' },
      note: `paid with \u0000 ${SECRET}`,
      items: [{ productId: 'P1', quantity: 1 }],
    });
    // The same token escaped in JSON, as a hostile or unusual publisher may write it.
    const escaped = json.replace(`"note":"paid with \\u0000 ${SECRET}"`, '"note":"paid with tok_\\u0063ut_secret_9"');

    it('never shows a token or a sensitive value, wherever the body is cut', () => {
      assert.ok(escaped.includes('tok_\\u0063ut'));
      for (const text of [json, escaped]) {
        for (let cut = 1; cut <= text.length; cut++) {
          const shown = redactBody(Buffer.from(text.slice(0, cut)));
          assert.doesNotMatch(shown, /cut_secret|ut_secret|4111|"123"/, `cut at ${cut}: ${shown}`);
          assert.doesNotMatch(shown, /tok_(?!\[redacted\])[A-Za-z0-9_\\]/, `cut at ${cut}: ${shown}`);
        }
      }
    });

    it('keeps what is safe to read, and marks the values it drops', () => {
      const shown = redactBody(Buffer.from(json.slice(0, json.indexOf('"items"') + 26)));
      assert.match(
        shown,
        /^\{"orderId":"o-1","paymentToken":"\[redacted\]","card":"\[redacted\]","note":"paid with \\u0000 tok_\[redacted\]","items":\[\{"productId":"P1/,
      );
    });

    it('reads only the head of a body too large to parse whole', () => {
      const big = Buffer.concat([
        Buffer.from(`{"paymentToken":"${SECRET}","pad":"`),
        Buffer.alloc(3 * 1024 * KiB, 0x61),
        Buffer.from('"}'),
      ]);
      const shown = redactBody(big, 100);
      assert.equal(shown, `{"paymentToken":"[redacted]","pad":"${'a'.repeat(100 - 36)}… (${big.length} bytes)`);
    });
  });
});
