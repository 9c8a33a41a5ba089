import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { ReplayResult, ShownMessage } from '../../../shared/dlq/dlq-admin';
import { startService } from '../../../workers/services';
import { assertInvariants, awaitFinal } from '../../helpers/invariants';
import { sleep, waitFor } from '../../helpers/wait';
import { ROOT, PAYMENT, PAYMENT_DLQ, SECRET, LEAKED_TOKEN, type DlqScenario } from './scenario';

/**
 * Reading a DLQ changes nothing and shows no token; replaying one message or all of them, once the gateway is back,
 * confirms each order once while poison comes straight back.
 * Each step starts from where the one before it left the fleet (scenario.ts).
 */
export function inspectAndReplaySteps(s: DlqScenario): void {
  const { printed, orders, cli, show, depth, orderPlacedSeenBy, dlqEntryOf, orderStatus, payment, rawSnapshot, duplicateInDlq } = s;

  it('show prints why each message failed, never a token, and leaves the DLQ as it was', async () => {
    // A second copy of order A, as a DLQ tool that died between a replay's confirm and its ack would leave.
    const [a] = dlqEntryOf(await show(PAYMENT_DLQ), orders.A);
    await duplicateInDlq(a!.messageId);

    const before = await show(PAYMENT_DLQ, '--body');
    assert.equal(before.depth, 7);
    const byId = new Map(before.messages.map((m) => [m.messageId, m]));
    const expect = (id: string, fields: Partial<ShownMessage>) => {
      const m = byId.get(id);
      assert.ok(m, `${id} is shown`);
      for (const [key, value] of Object.entries(fields)) assert.deepEqual(m[key as keyof ShownMessage], value, `${id}.${key}`);
      return m;
    };
    expect('poison-malformed', {
      reasonCode: 'MALFORMED_JSON',
      errorClass: 'MalformedMessageError',
      attempts: 1,
      source: 'consumer',
      failingQueue: PAYMENT,
      service: 'payment',
    });
    expect('poison-content-type', {
      reasonCode: 'UNSUPPORTED_CONTENT_TYPE',
      orderId: 'p-ct',
      correlationId: 'p-ct',
      eventType: 'OrderPlaced',
    });
    const schema = expect('poison-schema', { reasonCode: 'SCHEMA_VIOLATION', errorClass: 'SchemaViolationError', orderId: 'p-schema' });
    assert.match(schema.reason!, /quantity/);
    const copies = dlqEntryOf(before, orders.A);
    assert.equal(copies.length, 2);
    for (const m of copies) {
      assert.equal(m.reasonCode, 'RETRIES_EXHAUSTED');
      assert.equal(m.errorClass, 'GatewayUnavailableError');
      assert.equal(m.attempts, 4);
      assert.equal(m.correlationId, orders.A);
      assert.ok(m.firstFailureAt && m.lastFailureAt && m.firstFailureAt <= m.lastFailureAt);
    }
    for (const m of before.messages) assert.ok(m.body, `${m.messageId} has a body`);

    const limited = await cli('show', PAYMENT_DLQ, '--limit', '2');
    assert.equal(limited.code, 0);
    assert.match(limited.out, /^warren\.payment\.dlq: 7 messages, showing the first 2; 5 not read\n/);
    assert.equal(limited.out.match(/^#\d/gm)?.length, 2);
    const full = await cli('show', PAYMENT_DLQ, '--body');
    assert.match(full.out, /reason code\s+RETRIES_EXHAUSTED/);
    assert.match(full.out, /reason code\s+DELIVERY_LIMIT/);
    assert.ok(full.out.includes('"paymentToken":"[redacted]"'), 'bodies show where their token was');
    assert.ok(!full.out.includes(SECRET));

    const after = await show(PAYMENT_DLQ);
    assert.deepEqual(
      after.messages.map((m) => m.messageId),
      before.messages.map((m) => m.messageId),
      'same messages, same order',
    );
    for (const text of printed) assert.doesNotMatch(text, LEAKED_TOKEN);
  });

  it('replay --dry-run reports what would be replayed and changes nothing', async () => {
    const raw = await rawSnapshot(PAYMENT_DLQ);
    const before = await show(PAYMENT_DLQ);
    const { code, json } = await cli('replay', PAYMENT_DLQ, '--all', '--dry-run', '--json');
    assert.equal(code, 0);
    const result = json() as ReplayResult;
    assert.equal(result.dryRun, true);
    assert.equal(result.replayed.length, 7);
    assert.ok(result.replayed.every((r) => r.to === PAYMENT));
    assert.equal(result.remaining, 7);
    const after = await show(PAYMENT_DLQ);
    assert.deepEqual(after.messages, before.messages, 'the DLQ is unchanged, message for message');
    assert.equal(await depth(PAYMENT), 0, 'nothing reached the payment queue');
    assert.deepEqual(await rawSnapshot(PAYMENT_DLQ), raw, 'bodies, properties and headers are as they were');
  });

  it('replay --id of one exhausted payment, once the gateway is back, confirms that order with one capture', async () => {
    s.fleet.runtimes.payment = await startService(
      'payment',
      {
        ...s.fleet.config,
        settings: { ...s.fleet.config.settings, payment: { ...s.fleet.config.settings['payment'], PAYMENT_GATEWAY_FAILURE_RATE: 0 } },
      },
      { logDestination: s.fleet.logs },
    );
    const inventorySaw = await orderPlacedSeenBy('inventory');
    const [a] = dlqEntryOf(await show(PAYMENT_DLQ), orders.A);
    const { code, json } = await cli('replay', PAYMENT_DLQ, '--id', a!.messageId, '--json');
    assert.equal(code, 0);
    assert.equal((json() as ReplayResult).replayed.length, 1, 'one message, although two carry that id');
    await waitFor('order A confirmed', async () => (await orderStatus(orders.A)) === 'CONFIRMED');
    assert.deepEqual(await payment(orders.A), {
      orderId: orders.A,
      status: 'CAPTURED',
      amount: 150,
      currency: 'USD',
      captures: 1,
      refunds: 0,
    });
    assert.equal(await depth(PAYMENT_DLQ), 6);
    assert.equal(await orderPlacedSeenBy('inventory'), inventorySaw, 'inventory saw no second OrderPlaced');

    const missing = await cli('replay', PAYMENT_DLQ, '--id', 'no-such-message');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no message with id no-such-message/);
    assert.equal(await depth(PAYMENT_DLQ), 6);
  });

  it('the real CLI replays --all: exhausted orders end CONFIRMED once, an applied duplicate has no effect, poison returns', async () => {
    const inventorySaw = await orderPlacedSeenBy('inventory');
    const duplicatesBefore = await orderPlacedSeenBy('payment', 'duplicate');
    const { stdout } = await promisify(execFile)(
      resolve(ROOT, 'node_modules/.bin/tsx'),
      ['workers/dlq.ts', 'replay', PAYMENT_DLQ, '--all', '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, AMQP_URL: s.fleet.config.amqpUrl, EVENTS_EXCHANGE: s.fleet.config.eventsExchange },
        timeout: 60_000,
      },
    );
    printed.push(stdout);
    const result = JSON.parse(stdout) as ReplayResult;
    assert.equal(result.replayed.length, 6);
    assert.equal(result.remaining, 0);

    const outcomes = await awaitFinal(s.fleet.urls.api, [orders.A, orders.B, orders.C]);
    for (const o of outcomes.values()) assert.equal(o.status, 'CONFIRMED', o.orderId);
    for (const id of Object.values(orders)) assert.equal((await payment(id)).captures, 1, `order ${id} captured once`);
    await waitFor(
      'the second copy of order A acked as a duplicate',
      async () => (await orderPlacedSeenBy('payment', 'duplicate')) > duplicatesBefore,
    );
    await assertInvariants(
      { api: s.fleet.urls.api, inventory: s.fleet.urls.ops.inventory, payment: s.fleet.urls.ops.payment },
      { P001: 100 },
      outcomes,
    );
    assert.equal(await orderPlacedSeenBy('inventory'), inventorySaw, 'inventory saw no second OrderPlaced');

    // Poison fails again, permanently, at once; the replay did not pick up its own returns.
    const back = await waitFor('the poison back in the DLQ', async () => {
      const shown = await show(PAYMENT_DLQ);
      return shown.depth === 3 && shown.messages.every((m) => m.replayCount === 1) ? shown : undefined;
    });
    assert.deepEqual(back.messages.map((m) => m.messageId).sort(), ['poison-content-type', 'poison-malformed', 'poison-schema']);
    await sleep(500);
    assert.equal(await depth(PAYMENT_DLQ), 3);
  });
}
