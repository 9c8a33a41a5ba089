import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Message } from 'amqplib';
import { describeDeadLetter } from '../../shared/dlq/dead-letter-info';
import { redactBody } from '../../shared/dlq/redact';
import { planReplay } from '../../shared/dlq/replay-plan';
import { PermanentError } from '../../shared/errors/errors';
import { H } from '../../shared/messaging/retry-policy';
import { DEAD_LETTER_BODY_PREFIX_BYTES, TRUNCATED_BODY_HEADERS } from '../../shared/messaging/failure-copy';
import { assertBrokersSawNoViolation, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, paymentDeclined, until } from './fakes/fixtures';

const SECRET = 'tok_oversized_secret';

/** An event padded far over the consumer's limit, with a payment token right where the dead letter is cut. */
function oversized(bytes: number): Buffer {
  const event = body({ ...paymentDeclined('o-big'), note: '' });
  const head = event.subarray(0, event.length - 2).toString('utf8'); // open the note string
  const lead = `${head}paid with `;
  // The token starts 8 bytes before the cut: the dead letter keeps `tok_over`.
  const text = `${lead}${'x'.repeat(DEAD_LETTER_BODY_PREFIX_BYTES - 9 - lead.length)} ${SECRET} `;
  return Buffer.concat([Buffer.from(text), Buffer.alloc(bytes - text.length - 2, 0x79), Buffer.from('"}')]);
}

describe('Dead-lettering an oversized body (fake broker): a truncated head plus its digest', () => {
  afterEach(assertBrokersSawNoViolation);

  it('keeps the first bytes of a body over maxBodyBytes, with its size and sha256, instead of the whole body', async () => {
    const content = oversized(2 * 1024 * 1024);
    const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => undefined }, { maxBodyBytes: 64 * 1024 });
    const msg = deliver(content, { messageId: 'big-1', correlationId: 'o-big' });
    await until('the ack', () => broker.settlement(msg) === 'ack');
    const [copy] = copies.published;
    assert.equal(copy!.routingKey, 'dlq');
    assert.equal(copy!.content.length, DEAD_LETTER_BODY_PREFIX_BYTES);
    assert.ok(copy!.content.equals(content.subarray(0, DEAD_LETTER_BODY_PREFIX_BYTES)), 'the head of the body, byte for byte');
    const headers = headersOf(copy);
    assert.equal(headers[H.reasonCode], 'MESSAGE_TOO_LARGE');
    assert.equal(headers[TRUNCATED_BODY_HEADERS.bytes], content.length);
    assert.equal(headers[TRUNCATED_BODY_HEADERS.sha256], createHash('sha256').update(content).digest('hex'));

    // What the DLQ tool makes of it: the digest shown, no replay of a body nobody sent, no token printed.
    const dead = { content: copy!.content, properties: { ...copy!.options, headers }, fields: {} } as unknown as Message;
    assert.deepEqual(describeDeadLetter(dead).truncatedBody, {
      originalBytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
    });
    const plan = planReplay([dead], { dlq: 'q.dlq', source: 'q' }, { all: true }, false, new Date());
    assert.equal(plan.replayed.length, 0);
    assert.match(plan.skipped[0]!.why, /truncated on dead-lettering/);
    assert.equal(plan.moves[0]!.queue, 'q.dlq', 'it stays in the DLQ');
    const shown = redactBody(copy!.content);
    assert.ok(copy!.content.toString().endsWith(' tok_over'), 'the cut falls inside the token');
    assert.doesNotMatch(shown, /tok_(?!\[redacted\])/);
  });

  it('copies a body whole when it is over maxBodyBytes but no longer than the head kept', async () => {
    const content = Buffer.concat([body(paymentDeclined()), Buffer.alloc(2048, 32)]);
    assert.ok(content.length > 1024 && content.length <= DEAD_LETTER_BODY_PREFIX_BYTES);
    const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => undefined }, { maxBodyBytes: 1024 });
    const msg = deliver(content);
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.ok(copies.published[0]!.content.equals(content));
    assert.equal(headersOf(copies.published[0])[TRUNCATED_BODY_HEADERS.bytes], undefined);
  });

  it('copies a large body whole when it failed for another reason (it was within the limit)', async () => {
    class Refused extends PermanentError {}
    const event = { ...paymentDeclined('o-2'), reason: 'r'.repeat(3 * DEAD_LETTER_BODY_PREFIX_BYTES) };
    const { deliver, broker, copies } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new Refused('no')) },
      { maxBodyBytes: 1024 * 1024 },
    );
    const msg = deliver(body(event));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.ok(copies.published[0]!.content.equals(body(event)));
    assert.equal(headersOf(copies.published[0])[TRUNCATED_BODY_HEADERS.sha256], undefined);
  });
});
