import type { Socket } from 'node:net';

const PATCHED = Symbol('warren.coalesceWrites');

/**
 * amqplib gives every frame its own socket write, so a confirmed publish (method, header and body frames) is
 * three system calls and an ack one more. Corking the socket on the first write of a tick and uncorking it on
 * the next turns everything written in between into a single writev. Only an idle socket is corked: one already
 * holding a backlog (a broker that blocks publishers) is left to Node's own buffering, which batches it already.
 * Backpressure is unchanged: `write` still returns false past the high-water mark, and `drain` follows.
 */
export function coalesceWrites(socket: Socket | undefined): void {
  if (!socket || typeof socket.cork !== 'function' || (socket as Socket & { [PATCHED]?: true })[PATCHED]) return;
  (socket as Socket & { [PATCHED]?: true })[PATCHED] = true;
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    if (!corked && socket.writableLength === 0) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return Reflect.apply(write, this, args) as boolean;
  } as Socket['write'];
}
