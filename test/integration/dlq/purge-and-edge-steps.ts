import assert from 'node:assert/strict';
import type { ReplayResult, ShowResult } from '../../../shared/dlq/dlq-admin';
import { PAYMENT, PAYMENT_DLQ, INVENTORY_DLQ, ORDER_DLQ, LEAKED_TOKEN, THREE_QUEUES, poisonBody, type DlqScenario } from './scenario';

/**
 * Purge, a DLQ long enough for a quorum queue to reorder it, and DLQs or queues that are gone: what the tool
 * refuses, keeps in order, or reports without losing the rest.
 * Each step starts from where the one before it left the fleet (scenario.ts).
 */
export function purgeAndEdgeSteps(s: DlqScenario): void {
  const { printed, cli, show, depth } = s;

  it('purge needs --yes, then empties the DLQ', async () => {
    const refused = await cli('purge', INVENTORY_DLQ);
    assert.equal(refused.code, 2);
    assert.equal(await depth(INVENTORY_DLQ), 3);
    const { code, json } = await cli('purge', INVENTORY_DLQ, '--yes', '--json');
    assert.equal(code, 0);
    assert.deepEqual(json(), { dlq: INVENTORY_DLQ, purged: 3 });
    assert.equal(await depth(INVENTORY_DLQ), 0);
    assert.match((await cli('purge', PAYMENT_DLQ, '--yes')).out, /^purged 3 messages from warren\.payment\.dlq\n$/);
  });

  it('keeps the order of a long DLQ through show and dry runs, and skips what names no failing queue', async () => {
    // Quorum queues give requeued messages back in another order; 120 is well past where that shows.
    const ids = Array.from({ length: 120 }, (_, i) => `long-${String(i).padStart(3, '0')}`);
    const channel = await s.amqp.createConfirmChannel();
    for (const [i, id] of ids.entries()) {
      const headers =
        i % 3 === 0 ? {} : { 'x-warren-queue': 'warren.inventory', 'x-warren-reason': 'test', 'x-warren-reason-code': 'TEST' };
      channel.sendToQueue(INVENTORY_DLQ, Buffer.from(poisonBody(id)), { messageId: id, headers, persistent: true });
    }
    await channel.waitForConfirms();
    await channel.close();

    const head = (await cli('show', INVENTORY_DLQ, '--limit', '5', '--json')).json() as ShowResult;
    assert.deepEqual(
      head.messages.map((m) => m.messageId),
      ids.slice(0, 5),
    );
    assert.equal(head.depth, 120);
    const dry = await cli('replay', INVENTORY_DLQ, '--all', '--dry-run', '--json');
    assert.equal(dry.code, 1, 'a replay that leaves selected messages behind says so');
    const result = dry.json() as ReplayResult;
    assert.equal(result.replayed.length, 80);
    assert.equal(result.skipped.length, 40);
    assert.match(result.skipped[0]!.why, /no failing queue recorded/);
    const one = await cli('replay', INVENTORY_DLQ, '--id', ids[0]!, '--json');
    assert.equal(one.code, 1);
    assert.equal((one.json() as ReplayResult).replayed.length, 0);
    assert.deepEqual(
      (await show(INVENTORY_DLQ)).messages.map((m) => m.messageId),
      ids,
      'same 120 messages, same order',
    );
    assert.equal(await depth('warren.inventory'), 0);
    assert.deepEqual((await cli('purge', INVENTORY_DLQ, '--yes', '--json')).json(), { dlq: INVENTORY_DLQ, purged: 120 });
  });

  it('acks nothing it could not deliver: a replay to a queue that is gone leaves the DLQ whole', async () => {
    assert.equal(await depth(ORDER_DLQ), 3);
    await s.fleet.stopService('order');
    const channel = await s.amqp.createChannel();
    await channel.deleteQueue('warren.order');
    await channel.close();
    const { code, err } = await cli('replay', ORDER_DLQ, '--all');
    assert.equal(code, 1);
    assert.match(err, /^dlq: stopped after 0 of 3 messages of warren\.order\.dlq: .*unroutable/);
    assert.equal(await depth(ORDER_DLQ), 3);
  });

  it('list reports a missing DLQ without losing the others; show on it fails cleanly', async () => {
    const channel = await s.amqp.createChannel();
    await channel.deleteQueue(ORDER_DLQ);
    await channel.close();
    const { code, json } = await cli('list', '--json');
    assert.equal(code, 0);
    assert.deepEqual(
      (json() as { dlqs: { queue: string }[] }).dlqs.filter((d) => THREE_QUEUES.includes(d.queue)),
      [
        { dlq: ORDER_DLQ, queue: 'warren.order', exists: false },
        { dlq: INVENTORY_DLQ, queue: 'warren.inventory', exists: true, depth: 0 },
        { dlq: PAYMENT_DLQ, queue: PAYMENT, exists: true, depth: 0 },
      ],
    );
    const shown = await cli('show', ORDER_DLQ);
    assert.equal(shown.code, 1);
    assert.match(shown.err, /^dlq: queue warren\.order\.dlq does not exist/);
    for (const text of printed) assert.doesNotMatch(text, LEAKED_TOKEN);
  });
}
