import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the broker that can stop passing the broker's frames to the client: publishes still
 * reach the broker, but no confirm (nor heartbeat) comes back, as with a broker that stopped answering. Only the
 * test's own connections go through it, so the shared broker is never touched.
 */
export class StallingProxy {
  private stalled = false;
  private readonly sockets = new Set<Socket>();
  /** The broker's bytes held back while stalled, per client, so the stream stays whole when released. */
  private readonly held: { client: Socket; chunk: Buffer }[] = [];

  private readonly server: Server;
  port = 0;

  private constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (this.stalled) this.held.push({ client, chunk });
        else client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(target: { host: string; port: number }): Promise<StallingProxy> {
    const proxy = new StallingProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  /** From now on the broker's bytes are held back on the way to the client. */
  stall(): void {
    this.stalled = true;
  }

  /** Passes on what was held back, and everything after it: the late answers arrive, in order. */
  release(): void {
    this.stalled = false;
    for (const { client, chunk } of this.held.splice(0)) client.write(chunk);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
