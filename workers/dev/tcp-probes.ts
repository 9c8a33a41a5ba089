/**
 * The launcher's questions to a port, each answered with a boolean and never an exception: a probe that fails is
 * itself the answer ("nothing there", "not ready yet", "taken").
 */
import { connect, createServer } from 'node:net';

/** A TCP connect within a second: the test for "something is there", whatever it is. */
export function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sends `request` and tells whether the first bytes back satisfy `accept`; false on silence, close or error. */
export function exchange(
  host: string,
  port: number,
  request: Buffer,
  accept: (reply: Buffer) => boolean,
  timeoutMs = 2000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write(request));
    socket.once('data', (reply) => done(accept(reply)));
    socket.once('close', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Whether this process could listen on 127.0.0.1:`port` right now, so publishing a container port there cannot clash. */
export async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
