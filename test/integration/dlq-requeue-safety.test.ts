import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import { runFleetDlqCli as runDlqCli } from '../../workers/dlq';
import type { ShowResult } from '../../shared/dlq/dlq-admin';
import { DlqSession } from '../../shared/dlq/dlq-session';
import { DEAD_LETTER_ROUTING_KEY, deadLetterQueueName, failuresExchangeName } from '../../shared/messaging/topology';
import { declareTopology } from '../../shared/messaging/topology-check';
import { createVhost, deleteVhost } from '../helpers/broker';
import { LogCapture } from '../helpers/log-capture';
import { queueDepths } from '../helpers/raw-amqp';

const QUEUE = 'warren.payment';
const DLQ = deadLetterQueueName(QUEUE);
/** RabbitMQ 4's default delivery limit is 20: every case reads the same messages more often than that. */
const READS = 25;
const IDS = ['dead-1', 'dead-2', 'dead-3', 'dead-4', 'dead-5'];

/**
 * A DLQ has no dead-letter target of its own, so a broker that drops a message over its delivery limit loses it
 * for good. Looking at a DLQ must never count towards such a limit: here the DLQ tool reads the same DLQ more
 * than 20 times, by each path that hands messages back, on whichever broker AMQP_URL names.
 */
describe(`DLQ read-and-requeue safety (real broker): ${READS} reads lose nothing`, function () {
  this.timeout(300_000);
  let vhost = '';
  let url = '';
  let connection: amqplib.ChannelModel;
  const logs = new LogCapture();

  const contents = async (): Promise<string[]> => {
    const shown = await cli('show', DLQ, '--json', '--limit', '1000');
    assert.equal(shown.code, 0, shown.err);
    return (JSON.parse(shown.out) as ShowResult).messages.map((m) => m.messageId);
  };
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runDlqCli(argv, {
      env: { AMQP_URL: url },
      out: (s) => void (out += s),
      err: (s) => void (err += s),
      logDestination: logs,
    });
    return { code, out, err };
  }

  before(async () => {
    ({ vhost, url } = await createVhost('warren-dlq-safety'));
    connection = await amqplib.connect(url);
    // The DLQ exactly as the payment service declares it on this broker.
    const setup = await connection.createConfirmChannel();
    await declareTopology(setup, {
      exchange: 'warren.events',
      queues: [{ name: QUEUE, bindings: [] }],
      retryDelaysMs: [100],
      queueType: 'quorum',
    });
    for (const id of IDS)
      setup.publish(failuresExchangeName(QUEUE), DEAD_LETTER_ROUTING_KEY, Buffer.from(JSON.stringify({ id })), {
        messageId: id,
        persistent: true,
      });
    await setup.waitForConfirms();
    await setup.close();
  });
  after(async () => {
    await connection?.close().catch(() => undefined);
    await deleteVhost(vhost);
  });

  it(`\`dlq show\` ${READS} times: every message stays, in order`, async () => {
    for (let i = 0; i < READS; i++) assert.deepEqual(await contents(), IDS, `show #${i + 1}`);
  });

  it(`a session abandoned ${READS} times (every message nack-requeued) loses nothing`, async () => {
    for (let i = 0; i < READS; i++) {
      const session = await DlqSession.open(connection, DLQ, 1000);
      assert.equal(session.messages.length, IDS.length, `read #${i + 1}`);
      await session.abandon();
    }
    assert.deepEqual((await contents()).sort(), IDS);
  });

  it(`a reader that dies ${READS} times holding every message (connection gone, nothing settled) loses nothing`, async () => {
    for (let i = 0; i < READS; i++) {
      const reader = await amqplib.connect(url);
      const session = await DlqSession.open(reader, DLQ, 1000);
      assert.equal(session.messages.length, IDS.length, `read #${i + 1}`);
      await reader.close(); // the broker returns what the session held, as if the tool had been killed
    }
    assert.equal((await queueDepths(url, [DLQ]))[DLQ], IDS.length);
    assert.deepEqual((await contents()).sort(), IDS);
  });
});
