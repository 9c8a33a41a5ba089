import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (headers too large, a request that did not arrive
 * within `requestTimeout`, bytes that are not HTTP): answered as problem+json like every other error, then the
 * connection is closed, since the rest of its bytes cannot be trusted to frame another request.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const detail =
    status === 408
      ? 'the request did not arrive in time'
      : status === 431
        ? 'the request line and headers are too large'
        : 'the request is not valid HTTP';
  const body = JSON.stringify({ type: `https://warren.dev/problems/${status}`, title: STATUS_CODES[status], status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
