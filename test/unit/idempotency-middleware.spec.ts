import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { ClaimHeldError, ClaimStore } from '../../shared/idempotency/claims';
import type { AnyEvent } from '../../shared/events/catalog';
import { compose, type EventHandler, type Middleware } from '../../shared/messaging/context';
import { TransientError } from '../../shared/errors/errors';
import { H } from '../../shared/messaging/retry-policy';
import { claimIdOf, idempotencyMiddleware } from '../../shared/messaging/middleware/idempotency';
import { assertBrokersSawNoViolation, eventProps, headersOf, startConsumer, TIERS } from './fakes/consumer-harness';
import { body, contextFor, paymentDeclined, sleep, testMetrics, until, valueOf } from './fakes/fixtures';
import { MemoryClaimStore } from './fakes/memory-claim-store';

/** Runs one event through the middleware and a handler, as a consumer's pipeline would. */
const handle = (middleware: Middleware, event: AnyEvent, handler: EventHandler, queue = 'q') =>
  compose([middleware], handler)(contextFor(event, queue));

describe('idempotency middleware (claims)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('runs an event once and marks it done; a later copy finds the mark, does not run, and ends as a duplicate', async () => {
    const store = new MemoryClaimStore();
    const middleware = idempotencyMiddleware(store.asClaimStore());
    const event = paymentDeclined();
    let runs = 0;
    const outcomes = [await handle(middleware, event, async () => void runs++), await handle(middleware, event, async () => void runs++)];
    assert.equal(runs, 1);
    assert.deepEqual(outcomes, ['done', 'duplicate']);
    const id = claimIdOf(event);
    assert.deepEqual(store.calls, [`claim q ${id}`, `complete q ${id}`, `claim q ${id}`]);
  });

  it('in a consumer, acks a duplicate and counts it as such, with no copy published', async () => {
    const store = new MemoryClaimStore();
    let runs = 0;
    const { deliver, broker, copies, metrics } = await startConsumer(
      { PaymentDeclined: async () => void runs++ },
      { middleware: [idempotencyMiddleware(store.asClaimStore())] },
    );
    const event = paymentDeclined();
    const first = deliver(body(event), eventProps(event));
    await until('the first ack', () => broker.settlement(first) === 'ack');
    const second = deliver(body(event), eventProps(event));
    await until('the second ack', () => broker.settlement(second) === 'ack');
    assert.equal(runs, 1);
    assert.equal(copies.published.length, 0);
    assert.equal(await valueOf(metrics.consumed, { outcome: 'ack' }), 1);
    assert.equal(await valueOf(metrics.consumed, { outcome: 'duplicate' }), 1);
  });

  it('in a consumer, sends a copy that arrives while another holds the claim to a retry tier, unrun', async () => {
    const store = new MemoryClaimStore();
    let runs = 0;
    let release!: () => void;
    const handler = async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
    };
    const { deliver, broker, copies } = await startConsumer(
      { PaymentDeclined: handler },
      { middleware: [idempotencyMiddleware(store.asClaimStore())] },
    );
    const event = paymentDeclined();
    const first = deliver(body(event), eventProps(event));
    await until('the first run', () => runs === 1);
    const second = deliver(body(event), eventProps(event));
    await until('the retry copy', () => copies.published.length === 1);
    // The holder's lease (60 s here) outlasts every tier: the copy waits in the longest, its attempt unspent.
    assert.equal(copies.published[0]!.routingKey, `retry.${Math.max(...TIERS)}`, 'a held claim waits, never dead-lettered');
    assert.equal(copies.published[0]!.options.headers?.['x-warren-attempt'], 1, 'waiting for a claim spends no attempt');
    assert.ok(copies.published[0]!.options.headers?.['x-warren-deferred-since'], 'the first deferral is dated');
    await until('the second ack', () => broker.settlement(second) === 'ack');
    assert.equal(broker.settlement(first), undefined, 'the first still runs');
    release();
    await until('the first ack', () => broker.settlement(first) === 'ack');
    assert.equal(runs, 1);
  });

  it('a copy that keeps finding the claim held never reaches the DLQ, whatever the tiers, while a holder could be alive', async () => {
    const store = new MemoryClaimStore(60_000);
    const event = paymentDeclined();
    await store.claim('q', claimIdOf(event)); // a worker that claimed it, then died mid-handler
    const { deliver, broker, copies, returnFromTier } = await startConsumer(
      { PaymentDeclined: async () => undefined },
      { middleware: [idempotencyMiddleware(store.asClaimStore())] },
    );
    // Three times the tiers' count of deliveries: every one would have spent an attempt before.
    let delivery = deliver(body(event), eventProps(event));
    for (let round = 1; round <= TIERS.length * 3; round++) {
      await until(`copy ${round}`, () => copies.published.length === round);
      const copy = copies.published[round - 1]!;
      assert.match(copy.routingKey, /^retry\./, `round ${round}: ${copy.routingKey}`);
      assert.equal(copy.options.headers?.['x-warren-attempt'], 1);
      await until(`the ack of round ${round}`, () => broker.settlement(delivery) === 'ack');
      delivery = returnFromTier(copy);
    }
  });

  it('past the longest a holder can be alive, a held claim spends attempts like any transient failure', async () => {
    const store = new MemoryClaimStore(60_000);
    const event = paymentDeclined();
    await store.claim('q', claimIdOf(event));
    const { broker, copies, returnFromTier } = await startConsumer(
      { PaymentDeclined: async () => undefined },
      { middleware: [idempotencyMiddleware(store.asClaimStore())] },
    );
    const longAgo = new Date(Date.now() - 2 * store.deferLimitMs).toISOString();
    const copy = {
      routingKey: `retry.${TIERS[0]}`,
      content: body(event),
      options: { ...eventProps(event), headers: { 'x-warren-attempt': 1, 'x-warren-deferred-since': longAgo } },
    } as unknown as Parameters<typeof returnFromTier>[0];
    const delivery = returnFromTier(copy);
    await until('a copy', () => copies.published.length === 1);
    assert.equal(copies.published[0]!.options.headers?.['x-warren-attempt'], 2, 'the attempt is spent now');
    await until('the ack', () => broker.settlement(delivery) === 'ack');
  });

  it('on its last attempt past that, a held claim is dead-lettered as exhausted, naming ClaimHeldError', async () => {
    const store = new MemoryClaimStore(60_000);
    const event = paymentDeclined();
    await store.claim('q', claimIdOf(event));
    const { broker, copies, returnFromTier } = await startConsumer(
      { PaymentDeclined: async () => undefined },
      { middleware: [idempotencyMiddleware(store.asClaimStore())] },
    );
    const longAgo = new Date(Date.now() - 2 * store.deferLimitMs).toISOString();
    const copy = {
      routingKey: `retry.${TIERS.at(-1)}`,
      content: body(event),
      options: { ...eventProps(event), headers: { [H.attempt]: TIERS.length + 1, [H.deferredSince]: longAgo } },
    } as unknown as Parameters<typeof returnFromTier>[0];
    const delivery = returnFromTier(copy);
    await until('the dead-letter copy', () => copies.published.length === 1);
    const headers = headersOf(copies.published[0]);
    assert.equal(copies.published[0]!.routingKey, 'dlq');
    assert.equal(headers[H.reasonCode], 'RETRIES_EXHAUSTED');
    assert.equal(headers[H.errorClass], 'ClaimHeldError', 'the dead letter says a claim was held, not which code threw');
    await until('the ack', () => broker.settlement(delivery) === 'ack');
  });

  it("lets a copy wait for a held claim as long as the holder's longest hold plus one lease", () => {
    // Only the arithmetic: no Redis call is made.
    const store = new ClaimStore({} as Redis, 'p:', 300, 60_000, 1500);
    assert.equal(store.deferLimitMs, 1800);
  });

  it('holds off copies of an event whose worker died only until the claim lease ends', async () => {
    const store = new MemoryClaimStore(30);
    const middleware = idempotencyMiddleware(store.asClaimStore());
    const event = paymentDeclined();
    await store.claim('q', claimIdOf(event)); // a worker that claimed it, then died
    let runs = 0;
    await assert.rejects(
      handle(middleware, event, async () => void runs++),
      (e: unknown) => e instanceof ClaimHeldError && e instanceof TransientError,
    );
    await sleep(40);
    await handle(middleware, event, async () => void runs++);
    assert.equal(runs, 1);
  });

  it('releases the claim when the handler throws, so a retry runs at once; the error passes through unchanged', async () => {
    const store = new MemoryClaimStore();
    const middleware = idempotencyMiddleware(store.asClaimStore());
    const event = paymentDeclined();
    const failure = new TransientError('gateway 503');
    await assert.rejects(
      handle(middleware, event, () => Promise.reject(failure)),
      (e: unknown) => e === failure,
    );
    const id = claimIdOf(event);
    assert.deepEqual(store.calls, [`claim q ${id}`, `release q ${id}`], 'released, never marked done');
    let runs = 0;
    await handle(middleware, event, async () => void runs++);
    assert.equal(runs, 1, 'the retry is not held off by its own earlier claim');
  });

  it("keeps the handler's error when the release fails too (Redis down)", async () => {
    const store = new MemoryClaimStore();
    store.failNext.add('release');
    const failure = new TransientError('gateway 503');
    await assert.rejects(
      handle(idempotencyMiddleware(store.asClaimStore()), paymentDeclined(), () => Promise.reject(failure)),
      (e: unknown) => e === failure,
    );
  });

  it('claims per queue: one event is handled once by each queue that receives it', async () => {
    const middleware = idempotencyMiddleware(new MemoryClaimStore().asClaimStore());
    const event = paymentDeclined();
    const queues: string[] = [];
    for (const queue of ['inventory', 'order', 'inventory']) await handle(middleware, event, async () => void queues.push(queue), queue);
    assert.deepEqual(queues, ['inventory', 'order']);
  });

  it("claims per order: an eventId reused for another order is that order's own first delivery, not a duplicate", async () => {
    const middleware = idempotencyMiddleware(new MemoryClaimStore().asClaimStore());
    const first = paymentDeclined('o-1');
    const reused = { ...paymentDeclined('o-2'), eventId: first.eventId } as AnyEvent;
    const handled: string[] = [];
    const outcomes = [
      await handle(middleware, first, async () => void handled.push(first.orderId)),
      await handle(middleware, reused, async () => void handled.push(reused.orderId)),
      await handle(middleware, reused, async () => void handled.push(reused.orderId)),
    ];
    assert.deepEqual(handled, ['o-1', 'o-2']);
    assert.deepEqual(outcomes, ['done', 'done', 'duplicate']);
  });

  it('claims per content: another event under a handled eventId runs (and is checked), a byte-equal copy does not', async () => {
    const middleware = idempotencyMiddleware(new MemoryClaimStore().asClaimStore());
    const first = paymentDeclined('o-1');
    const other = { ...first, reason: 'SOMETHING_ELSE' } as AnyEvent;
    let runs = 0;
    const outcomes = [
      await handle(middleware, first, async () => void runs++),
      await handle(middleware, { ...first } as AnyEvent, async () => void runs++),
      await handle(middleware, other, async () => void runs++),
    ];
    assert.equal(runs, 2);
    assert.deepEqual(outcomes, ['done', 'duplicate', 'done']);
  });

  it('times its Redis calls under the operations the dashboards name (claim, claim_complete, claim_release), counting failures', async () => {
    const metrics = testMetrics();
    const store = new MemoryClaimStore();
    const middleware = idempotencyMiddleware(store.asClaimStore(), metrics);
    await handle(middleware, paymentDeclined('o-1'), async () => undefined);
    await handle(middleware, paymentDeclined('o-2'), () => Promise.reject(new TransientError('gateway 503'))).catch(() => undefined);
    store.failNext.add('claim');
    await handle(middleware, paymentDeclined('o-3'), async () => undefined).catch(() => undefined);
    const count = async (operation: string) =>
      (await metrics.redisSeconds.get()).values.find((v) => v.metricName?.endsWith('_count') && v.labels['operation'] === operation)?.value;
    assert.deepEqual(
      { claim: await count('claim'), claim_complete: await count('claim_complete'), claim_release: await count('claim_release') },
      { claim: 3, claim_complete: 1, claim_release: 1 },
    );
    assert.equal(await valueOf(metrics.redisErrors, { operation: 'claim' }), 1);
  });
});
