import assert from 'node:assert/strict';
import { mock } from 'node:test';
import type { Channel, Message } from 'amqplib';
import { ACK_DELAY_MS, AckBatcher } from '../../shared/messaging/ack-batcher';

/** The frames an AckBatcher sends, recorded (the batching is pure bookkeeping over delivery tags). */
function recorder(options: { closed?: boolean; prefetch?: number } = {}) {
  const frames: string[] = [];
  const guard = () => {
    if (options.closed) throw new Error('Channel closed');
  };
  const channel = {
    ack: (m: Message, multiple = false) => (guard(), frames.push(`ack ${m.fields.deliveryTag}${multiple ? ' multiple' : ''}`)),
    nack: (m: Message, multiple = false, requeue = true) => (
      guard(),
      frames.push(`nack ${m.fields.deliveryTag}${multiple ? ' multiple' : ''}${requeue ? ' requeue' : ''}`)
    ),
  } as unknown as Channel;
  const closed: Error[] = [];
  const batcher = new AckBatcher(channel, options.prefetch ?? 4, (e: Error) => closed.push(e));
  const msgs = Array.from({ length: 8 }, (_, i) => ({ fields: { deliveryTag: i + 1 } }) as Message);
  for (const m of msgs) batcher.track(m);
  return { frames, batcher, msgs, closed };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('AckBatcher', () => {
  it('while other deliveries run, lets an ack wait a few milliseconds for theirs to share its frame', async () => {
    // The wait is a timer: mocked, so a loaded machine cannot fire it early, between the two acks.
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { frames, batcher, msgs } = recorder({ prefetch: 100 });
      batcher.ack(msgs[0]!);
      await turn();
      assert.deepEqual(frames, [], 'one ack of a window of 100 waits while seven deliveries run');
      batcher.ack(msgs[1]!);
      mock.timers.tick(ACK_DELAY_MS - 1);
      assert.deepEqual(frames, [], 'still within the wait');
      mock.timers.tick(1);
      assert.deepEqual(frames, ['ack 2 multiple']);
    } finally {
      mock.timers.reset();
    }
  });

  it('acks at the end of the turn once nothing is running: no other ack is on its way to wait for', async () => {
    const { frames, batcher, msgs } = recorder({ prefetch: 100 });
    for (const m of msgs.slice(0, 7)) batcher.ack(m);
    await turn();
    assert.deepEqual(frames, [], 'the eighth delivery still runs: the acks wait for it');
    batcher.ack(msgs[7]!);
    await turn();
    assert.deepEqual(frames, ['ack 8 multiple']);
    const next = { fields: { deliveryTag: 9 } } as Message;
    batcher.track(next);
    batcher.requeue(next);
    await turn();
    assert.deepEqual(frames, ['ack 8 multiple', 'nack 9 requeue']);
  });

  it('acks at the end of the turn when a requeue settles the last running delivery', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { frames, batcher, msgs } = recorder({ prefetch: 100 });
      for (const m of msgs.slice(1)) batcher.ack(m);
      await turn();
      assert.deepEqual(frames, [], 'seven acks wait behind the running first delivery');
      batcher.requeue(msgs[0]!);
      await turn();
      assert.deepEqual(frames, ['nack 1 requeue', 'ack 8 multiple'], 'nothing runs any more: no reason to wait for the timer');
    } finally {
      mock.timers.reset();
    }
  });

  it('flushes at the end of the turn once a quarter of the prefetch window is settled', async () => {
    const { frames, batcher, msgs } = recorder({ prefetch: 8 });
    batcher.ack(msgs[0]!);
    batcher.ack(msgs[1]!);
    await turn();
    assert.deepEqual(frames, ['ack 2 multiple']);
  });

  it('acks a run of settled deliveries with one multiple ack at the end of the turn', async () => {
    const { frames, batcher, msgs } = recorder();
    for (const m of msgs.slice(0, 5)) batcher.ack(m);
    assert.deepEqual(frames, [], 'nothing is sent before the turn ends');
    await turn();
    assert.deepEqual(frames, ['ack 5 multiple']);
  });

  it('never covers a delivery still running: those behind it are acked one by one, then the run closes over it', async () => {
    const { frames, batcher, msgs } = recorder();
    batcher.ack(msgs[0]!);
    batcher.ack(msgs[2]!);
    batcher.ack(msgs[3]!);
    await turn();
    assert.deepEqual(frames, ['ack 1 multiple', 'ack 3', 'ack 4']);
    batcher.ack(msgs[1]!);
    batcher.ack(msgs[4]!);
    await turn();
    // 2 and 5 are the only outstanding ones below 5: one multiple ack covers them; 3 and 4 are not acked twice.
    assert.deepEqual(frames.slice(3), ['ack 5 multiple']);
  });

  it('sends a requeue at once, and a later multiple ack does not cover it again', async () => {
    const { frames, batcher, msgs } = recorder();
    batcher.requeue(msgs[0]!);
    assert.deepEqual(frames, ['nack 1 requeue']);
    batcher.ack(msgs[1]!);
    await turn();
    assert.deepEqual(frames, ['nack 1 requeue', 'ack 2 multiple']);
  });

  it('flush() sends what is settled now (a consumer stopping), and ignores deliveries it does not know', () => {
    const { frames, batcher, msgs } = recorder();
    batcher.ack(msgs[0]!);
    batcher.ack(msgs[1]!);
    batcher.flush();
    assert.deepEqual(frames, ['ack 2 multiple']);
    batcher.ack(msgs[0]!);
    batcher.ack({ fields: { deliveryTag: 99 } } as Message);
    batcher.flush();
    assert.deepEqual(frames, ['ack 2 multiple']);
  });

  it('settles a delivery once: a second ack, or a requeue after its ack, sends nothing (the broker would close the channel)', async () => {
    const { frames, batcher, msgs } = recorder();
    batcher.ack(msgs[1]!);
    batcher.requeue(msgs[1]!);
    batcher.flush();
    assert.deepEqual(frames, ['ack 2'], 'acked alone behind the running first delivery; the requeue is ignored');
    batcher.ack(msgs[1]!);
    batcher.requeue(msgs[1]!);
    batcher.flush();
    await new Promise((r) => setTimeout(r, ACK_DELAY_MS + 5));
    assert.deepEqual(frames, ['ack 2']);
  });

  it('on a closed channel, reports once and forgets its deliveries (the broker redelivers them)', () => {
    const { frames, batcher, msgs, closed } = recorder({ closed: true });
    batcher.ack(msgs[0]!);
    batcher.flush();
    assert.deepEqual(frames, []);
    assert.equal(closed.length, 1);
    batcher.ack(msgs[1]!);
    batcher.flush();
    assert.equal(closed.length, 1);
  });

  it('a flush ends the wait it cut short: an ack after it waits its own full delay for company', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { frames, batcher, msgs } = recorder({ prefetch: 100 });
      batcher.ack(msgs[0]!);
      mock.timers.tick(ACK_DELAY_MS - 2);
      batcher.flush();
      assert.deepEqual(frames, ['ack 1 multiple']);
      batcher.ack(msgs[1]!);
      mock.timers.tick(2);
      assert.deepEqual(frames, ['ack 1 multiple'], "the first ack's timer no longer fires");
      mock.timers.tick(ACK_DELAY_MS - 2);
      assert.deepEqual(frames, ['ack 1 multiple', 'ack 2 multiple']);
    } finally {
      mock.timers.reset();
    }
  });

  it('holds nothing of a delivery once its ack is sent, nor of any once the channel closed: a long-lived channel stays small', () => {
    const tracked = (b: AckBatcher) => (b as unknown as { byTag: Map<number, unknown> }).byTag.size;
    const open = recorder();
    for (const m of open.msgs) open.batcher.ack(m);
    open.batcher.flush();
    assert.equal(tracked(open.batcher), 0);
    const closed = recorder({ closed: true });
    closed.batcher.ack(closed.msgs[0]!);
    closed.batcher.flush();
    assert.equal(tracked(closed.batcher), 0);
  });
});
