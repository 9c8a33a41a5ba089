import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { coalesceWrites } from '../../shared/messaging/coalesce-writes';

/** The part of a socket coalesceWrites touches, recording what reaches it in order. */
function fakeSocket(backlog = 0) {
  const calls: string[] = [];
  const socket = {
    writableLength: backlog,
    cork: () => void calls.push('cork'),
    uncork: () => void calls.push('uncork'),
    write(chunk: string, callback?: () => void): boolean {
      calls.push(`write ${chunk}`);
      callback?.();
      return this.writableLength < 100;
    },
  };
  return { calls, socket, asSocket: socket as unknown as Socket };
}
const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe('coalesceWrites (frames of one tick in one socket write)', () => {
  it('corks an idle socket on the first write of a tick and uncorks it on the next: one writev for all of them', async () => {
    const { calls, asSocket } = fakeSocket();
    coalesceWrites(asSocket);
    asSocket.write('method');
    asSocket.write('header');
    asSocket.write('body');
    assert.deepEqual(calls, ['cork', 'write method', 'write header', 'write body']);
    await nextTick();
    assert.deepEqual(calls.slice(4), ['uncork']);
    asSocket.write('ack');
    await nextTick();
    assert.deepEqual(calls.slice(5), ['cork', 'write ack', 'uncork'], 'the next tick is a batch of its own');
  });

  it("leaves a socket holding a backlog to Node's own buffering", async () => {
    const { calls, asSocket } = fakeSocket(10);
    coalesceWrites(asSocket);
    asSocket.write('frame');
    await nextTick();
    assert.deepEqual(calls, ['write frame']);
  });

  it("passes every argument on, and write's backpressure answer back", () => {
    const { socket, asSocket } = fakeSocket(500);
    coalesceWrites(asSocket);
    let called = false;
    assert.equal(
      asSocket.write('frame', () => (called = true)),
      false,
      'past the high-water mark: false, as before',
    );
    assert.ok(called);
    socket.writableLength = 0;
    assert.equal(asSocket.write('frame'), true);
  });

  it('patches a socket once, however often it is handed over', async () => {
    const { calls, asSocket } = fakeSocket();
    coalesceWrites(asSocket);
    coalesceWrites(asSocket);
    asSocket.write('frame');
    await nextTick();
    assert.deepEqual(calls, ['cork', 'write frame', 'uncork']);
  });

  it('does nothing for a connection without a socket, or a stream that cannot cork', () => {
    assert.doesNotThrow(() => coalesceWrites(undefined));
    const written: string[] = [];
    const stream = { writableLength: 0, write: (chunk: string) => written.push(chunk) > 0 };
    coalesceWrites(stream as unknown as Socket);
    assert.equal(stream.write('frame'), true);
    assert.deepEqual(written, ['frame']);
  });
});
