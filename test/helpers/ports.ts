import { createServer } from 'node:net';

/** Ports already handed out in this process: a service stopped and restarted keeps its port to itself. */
const handedOut = new Set<number>();

/** A TCP port that was free a moment ago on 127.0.0.1 and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
