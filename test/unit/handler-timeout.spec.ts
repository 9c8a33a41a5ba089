import assert from 'node:assert/strict';
import { compose, type Middleware } from '../../shared/messaging/context';
import { PermanentError, TransientError } from '../../shared/errors/errors';
import { H } from '../../shared/messaging/retry-policy';
import { HandlerTimeoutError, timeoutMiddleware } from '../../shared/messaging/middleware/timeout';
import { assertBrokersSawNoViolation, eventProps, FROM_RETRY_TIER, headersOf, startConsumer, TIERS } from './fakes/consumer-harness';
import { body, contextFor, paymentDeclined, sleep, until } from './fakes/fixtures';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('timeout middleware (HandlerTimeoutError)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('fails a handler that runs past its time as a transient HandlerTimeoutError, at the deadline', async () => {
    const started = Date.now();
    await assert.rejects(
      compose([timeoutMiddleware(20)], () => sleep(500))(contextFor(paymentDeclined())),
      (e: unknown) => e instanceof HandlerTimeoutError && e instanceof TransientError && /exceeded 20 ms/.test(e.message),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 15 && elapsed < 250, `failed after ${elapsed} ms, not when the handler ended`);
  });

  it('gives every running handler its own deadline on one timer: a later one fails after the earlier, not with it', async () => {
    const pipeline = compose([timeoutMiddleware(40)], () => sleep(500));
    const ended: string[] = [];
    const first = pipeline(contextFor(paymentDeclined())).catch((e: unknown) => ended.push(`first ${(e as Error).name}`));
    await sleep(25);
    const second = pipeline(contextFor(paymentDeclined())).catch((e: unknown) => ended.push(`second ${(e as Error).name}`));
    await first;
    assert.deepEqual(ended, ['first HandlerTimeoutError'], 'the second handler still has time when the first one times out');
    await second;
    assert.deepEqual(ended, ['first HandlerTimeoutError', 'second HandlerTimeoutError']);
  });

  it('still fails a slow handler at its deadline after a quicker one beside it has finished', async () => {
    const pipeline = compose([timeoutMiddleware(40)], (ctx) => sleep(ctx.event.orderId === 'slow' ? 1000 : 5));
    const started = Date.now();
    const slow = pipeline(contextFor(paymentDeclined('slow'))).then(
      () => 'finished',
      (e: unknown) => (e as Error).name,
    );
    await pipeline(contextFor(paymentDeclined('quick')));
    assert.equal(await slow, 'HandlerTimeoutError');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 500, `failed after ${elapsed} ms, not at its deadline`);
  });

  it('passes on at once what a middleware below throws instead of rejecting', async () => {
    const own = new PermanentError('thrown, not rejected');
    const throwing: Middleware = () => {
      throw own;
    };
    const started = Date.now();
    await assert.rejects(
      compose([timeoutMiddleware(1000), throwing], async () => undefined)(contextFor(paymentDeclined())),
      (e: unknown) => e === own,
    );
    assert.ok(Date.now() - started < 500, 'not held until the deadline');
  });

  it("passes the handler's own outcome through unchanged", async () => {
    let ran = false;
    await compose([timeoutMiddleware(1000)], async () => void (ran = true))(contextFor(paymentDeclined()));
    assert.ok(ran);
    const own = new PermanentError('no');
    await assert.rejects(
      compose([timeoutMiddleware(1000)], () => Promise.reject(own))(contextFor(paymentDeclined())),
      (e: unknown) => e === own,
    );
  });

  it('clears its timer once the handler settles, so no timer is left per message', async () => {
    await new Promise(setImmediate); // mocha arms its own test timer after the test starts
    const before = timers();
    let release!: () => void;
    const running = compose([timeoutMiddleware(60_000)], () => new Promise<void>((r) => (release = r)))(contextFor(paymentDeclined()));
    assert.equal(timers(), before + 1, 'the deadline is armed while the handler runs');
    release();
    await running;
    await compose([timeoutMiddleware(60_000)], () => Promise.reject(new Error('x')))(contextFor(paymentDeclined())).catch(() => undefined);
    assert.equal(timers(), before, 'and disarmed when it returns or throws');
  });

  it('in a consumer, turns a slow handler into a retry copy and acks the original once, whatever the late handler does', async () => {
    let finished = 0;
    const { deliver, broker, copies } = await startConsumer(
      {
        PaymentDeclined: async () => {
          await sleep(60);
          finished++;
        },
      },
      { middleware: [timeoutMiddleware(15)] },
    );
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the retry copy', () => copies.published.length === 1);
    assert.equal(copies.published[0]!.routingKey, `retry.${TIERS[0]}`);
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(finished, 0, 'the copy went out before the handler ended');
    await until('the late handler to end', () => finished === 1);
    await sleep(10);
    assert.equal(copies.published.length, 1, 'its late end publishes nothing more');
  });

  it('in a consumer, dead-letters a handler that times out on its last attempt, naming HandlerTimeoutError', async () => {
    const { deliver, copies } = await startConsumer({ PaymentDeclined: () => sleep(200) }, { middleware: [timeoutMiddleware(10)] });
    const event = paymentDeclined();
    deliver(body(event), { ...eventProps(event), headers: { [H.attempt]: TIERS.length + 1 } }, FROM_RETRY_TIER);
    await until('the dead-letter copy', () => copies.published.length === 1);
    const headers = headersOf(copies.published[0]);
    assert.equal(headers[H.reasonCode], 'RETRIES_EXHAUSTED');
    assert.equal(headers[H.errorClass], 'HandlerTimeoutError');
  });
});
