import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeExport } from '../../helpers/otlp-receiver';

/**
 * A local OTLP/HTTP endpoint for the tracing benchmark: answers every export at once and keeps the bodies
 * undecoded, so that receiving costs next to nothing while a worker is measured; {@link take} decodes them
 * afterwards (with the test's OTLP decoder) to count the spans that arrived.
 */
export class OtlpSink {
  private bodies: { body: Buffer; contentType: string | undefined }[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpSink> {
    const server = createServer();
    const sink = new OtlpSink(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.url === '/v1/traces') sink.bodies.push({ body: Buffer.concat(chunks), contentType: req.headers['content-type'] });
        res.writeHead(req.url === '/v1/traces' ? 200 : 404, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return sink;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Spans received since the last call, and the export requests and bytes they came in. */
  take(): { spans: number; requests: number; bytes: number } {
    const taken = this.bodies;
    this.bodies = [];
    return {
      spans: taken.reduce((n, { body, contentType }) => n + decodeExport(body, contentType).length, 0),
      requests: taken.length,
      bytes: taken.reduce((n, { body }) => n + body.length, 0),
    };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
