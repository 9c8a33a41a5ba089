import assert from 'node:assert/strict';
import type { AnyEvent } from '../../shared/events/catalog';
import { compose, type EventHandler, type MessageContext, type Middleware } from '../../shared/messaging/context';
import { TransientError } from '../../shared/errors/errors';
import { loggingMiddleware } from '../../shared/messaging/middleware/logging';
import { metricsMiddleware } from '../../shared/messaging/middleware/metrics';
import type { Logger } from '../../shared/observability/logger';
import { contextFor, paymentDeclined, sleep, testMetrics } from './fakes/fixtures';

const run = (middleware: Middleware, handler: EventHandler, ctx: MessageContext = contextFor(paymentDeclined())) =>
  compose([middleware], handler)(ctx);

/** The count and sum of one histogram's series. */
async function series(metric: { get(): Promise<{ values: { labels: object; value: number; metricName?: string }[] }> }, labels: object) {
  const { values } = await metric.get();
  const of = (suffix: string) =>
    values.find(
      (v) => v.metricName?.endsWith(suffix) && Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    )?.value ?? 0;
  return { count: of('_count'), sum: of('_sum') };
}

describe('metrics middleware (handler duration and event lag)', () => {
  it('times each handler by its outcome, ok, duplicate or error, and passes the outcome or the error on', async () => {
    const metrics = testMetrics();
    const middleware = metricsMiddleware(metrics);
    const failure = new TransientError('gateway 503');
    assert.equal(await run(middleware, () => sleep(20)), 'done');
    assert.equal(await run(middleware, async () => 'duplicate'), 'duplicate');
    await assert.rejects(
      run(middleware, () => Promise.reject(failure)),
      (e: unknown) => e === failure,
    );
    const labels = { queue: 'q', event_type: 'PaymentDeclined' };
    const ok = await series(metrics.handlerSeconds, { ...labels, outcome: 'ok' });
    assert.equal(ok.count, 1);
    assert.ok(ok.sum >= 0.015 && ok.sum < 1, `the 20 ms handler took ${ok.sum} s`);
    assert.equal((await series(metrics.handlerSeconds, { ...labels, outcome: 'duplicate' })).count, 1);
    assert.equal((await series(metrics.handlerSeconds, { ...labels, outcome: 'error' })).count, 1);
  });

  it("observes each event's lag behind its timestamp: never below zero, and not at all for a timestamp it cannot read", async () => {
    const metrics = testMetrics();
    const middleware = metricsMiddleware(metrics);
    const at = (ms: number) => contextFor({ ...paymentDeclined(), timestamp: new Date(Date.now() + ms).toISOString() } as AnyEvent);
    await run(middleware, async () => undefined, at(-2000));
    const lag = await series(metrics.eventLagSeconds, { queue: 'q', event_type: 'PaymentDeclined' });
    assert.equal(lag.count, 1);
    assert.ok(lag.sum >= 2 && lag.sum < 30, `an event of 2 s ago lags ${lag.sum} s`);
    await run(middleware, async () => undefined, at(60_000));
    const ahead = await series(metrics.eventLagSeconds, { queue: 'q', event_type: 'PaymentDeclined' });
    assert.deepEqual(ahead, { count: 2, sum: lag.sum }, "a publisher's clock ahead of ours counts as no lag");
    await run(middleware, async () => undefined, contextFor({ ...paymentDeclined(), timestamp: 'not a time' } as AnyEvent));
    assert.equal((await series(metrics.eventLagSeconds, { queue: 'q' })).count, 2);
  });
});

describe('logging middleware', () => {
  /** A context whose logger records its debug lines, and counts how often the handler's logger was built. */
  function recorded() {
    const lines: { attempt: unknown; msg: string }[] = [];
    let built = 0;
    const log = { debug: (fields: { attempt: unknown }, msg: string) => void lines.push({ attempt: fields.attempt, msg }) } as Logger;
    const ctx = {
      ...contextFor(paymentDeclined()),
      attempt: 2,
      get log() {
        built++;
        return log;
      },
    };
    return { lines, ctx, built: () => built };
  }

  it('writes one debug line per handled event with its attempt, and says when it was a duplicate', async () => {
    const handled = recorded();
    await run(loggingMiddleware({ isLevelEnabled: () => true }), async () => undefined, handled.ctx);
    const duplicate = recorded();
    await run(loggingMiddleware(), async () => 'duplicate', duplicate.ctx);
    assert.equal(handled.lines.length, 1);
    assert.equal(handled.lines[0]!.attempt, 2);
    assert.doesNotMatch(handled.lines[0]!.msg, /duplicate/);
    assert.match(handled.lines[0]!.msg, /handled/);
    assert.equal(duplicate.lines.length, 1);
    assert.match(duplicate.lines[0]!.msg, /duplicate/);
  });

  it("while debug is off, writes nothing and never builds the event's logger", async () => {
    const quiet = recorded();
    assert.equal(await run(loggingMiddleware({ isLevelEnabled: () => false }), async () => 'duplicate', quiet.ctx), 'duplicate');
    assert.deepEqual(quiet.lines, []);
    assert.equal(quiet.built(), 0);
  });
});
