import assert from 'node:assert/strict';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from '../helpers/broker';
import { CrashWorkerProcess } from '../helpers/crash-worker-process';
import { drainQueue, publishRaw, queueDepths } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';
import { deadLetterQueueName, deliveryLimit } from '../../shared/messaging/topology';

const QUEUE = 'warren.crash';
const BINDING = 'crash.placed';
const EXCHANGE = 'warren.events';
const RETRY_DELAYS_MS = [100, 200];
const placed = (orderId: string) =>
  JSON.stringify({
    eventType: 'OrderPlaced',
    orderId,
    items: [{ productId: 'CRASH', quantity: 1 }],
    totalAmount: 1,
    timestamp: new Date().toISOString(),
  });

/**
 * A message that kills its worker on every delivery never reaches the consumer's retry path: only the quorum
 * queue's delivery limit stops it from crash-looping the fleet for ever. This proves the cap with a real process
 * that exits, respawned like a supervisor would, on whichever broker AMQP_URL names.
 */
describe('poison cap (real broker, a worker process that exits on one message)', function () {
  this.timeout(300_000);
  let vhost = '';
  let url = '';
  let worker: CrashWorkerProcess | undefined;

  before(async () => {
    ({ vhost, url } = await createVhost('warren-crash'));
  });
  after(async () => {
    await worker?.stop();
    await deleteVhost(vhost);
  });

  it('dead-letters the killer message by delivery limit into <queue>.dlq while the others are processed', async () => {
    const poison = uniqueName('poison');
    const env = {
      AMQP_URL: url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('crash')}:`,
      RETRY_DELAYS_MS: RETRY_DELAYS_MS.join(','),
      // One delivery in flight at a time: the crash then returns only the killer message, so the count below is
      // its own. (With a larger prefetch every unacked message would have a delivery counted against it too.)
      PREFETCH: '1',
      LOG_LEVEL: 'warn',
      CRASH_QUEUE: QUEUE,
      CRASH_BINDING: BINDING,
      CRASH_ON_ORDER_ID: poison,
    };
    // Resolves once the worker is consuming, or has died already: a respawned one may meet the killer at once.
    const spawnWorker = async () => {
      worker = new CrashWorkerProcess(env);
      const w = worker;
      await waitFor('crash worker ready or gone', () => w.lines.some((l) => 'ready' in l) || !w.running, 60_000, 50);
    };
    await spawnWorker(); // declares the topology
    assert.ok(worker!.running, `the worker started: ${worker!.stderr.join('')}`);
    const innocents = Array.from({ length: 10 }, (_, i) => `innocent-${i}-${poison}`);
    for (const id of [...innocents.slice(0, 5), poison, ...innocents.slice(5)]) {
      await publishRaw(url, EXCHANGE, BINDING, placed(id), { messageId: id, persistent: true, contentType: 'application/json' });
    }

    const limit = deliveryLimit(RETRY_DELAYS_MS);
    const dlq = deadLetterQueueName(QUEUE);
    const runs = [worker!];
    const processed = () => new Set(runs.flatMap((w) => w.lines.flatMap((l) => ('processed' in l ? [l.processed] : []))));
    const deadline = Date.now() + 240_000;
    // A supervisor's loop: respawn the worker each time it dies, until the killer is in the DLQ and the rest is done.
    for (;;) {
      const w = runs.at(-1)!;
      if (!w.running) {
        assert.equal(await w.exited, 1, `the worker exits 1 on the killer message: ${w.stderr.join('').slice(-500)}`);
        assert.ok(runs.length <= limit + 5, `still crashing after ${runs.length} runs: the delivery limit did not stop the message`);
        await spawnWorker();
        runs.push(worker!);
        continue;
      }
      const done = innocents.every((id) => processed().has(id)) && (await queueDepths(url, [dlq]))[dlq] === 1;
      if (done) break;
      assert.ok(Date.now() < deadline, `timed out: ${runs.length} runs, processed ${processed().size} of ${innocents.length}`);
      await sleep(200);
    }
    const crashes = runs.flatMap((w) => w.lines.flatMap((l) => ('crashing' in l ? [l.deliveryCount] : [])));
    assert.equal(await worker!.stop(), 0, 'the surviving worker drains and exits 0');
    console.log(
      `      [poison-crash] delivery limit ${limit}: the worker died ${crashes.length} times (x-delivery-count seen: ${crashes.join(',')})`,
    );

    assert.ok(crashes.length >= limit && crashes.length <= limit + 1, `died ${crashes.length} times for a delivery limit of ${limit}`);
    assert.deepEqual([...processed()].sort(), [...innocents].sort(), 'every other message was processed');
    assert.equal(processed().has(poison), false);
    assert.equal((await queueDepths(url, [QUEUE]))[QUEUE], 0, 'nothing is left on the queue');
    const [dead, ...more] = await drainQueue(url, dlq);
    assert.equal(more.length, 0, 'only the killer message is dead-lettered');
    const h = dead!.properties.headers!;
    assert.equal(dead!.properties.messageId, poison);
    assert.equal(String(h['x-first-death-reason']), 'delivery_limit');
    assert.equal(String(h['x-first-death-queue']), QUEUE);
    const [death] = h['x-death'] as { reason: unknown; queue: unknown }[];
    assert.equal(String(death!.reason), 'delivery_limit');
    assert.equal(String(death!.queue), QUEUE);
  });
});
