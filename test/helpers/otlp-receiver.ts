import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// The OpenTelemetry proto definitions, compiled by protobufjs (the generated root the 0.200 transformer ships).
import otlpRoot from '@opentelemetry/otlp-transformer/build/src/generated/root';

/** A span as the receiver decoded it: ids in hex, attributes as plain values, its service from the resource. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER' | 'UNSPECIFIED';
  attributes: Record<string, string | number | boolean>;
  /** 0 unset, 1 ok, 2 error (OTLP's StatusCode). */
  statusCode: number;
}

interface Decoder {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): ExportRequest;
}
interface KeyValue {
  key: string;
  value?: { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number };
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: string;
        attributes?: KeyValue[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

const ExportTraceServiceRequest = (
  otlpRoot as unknown as { opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Decoder } } } } } }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

/**
 * An OTLP/HTTP trace receiver on 127.0.0.1: decodes every `POST /v1/traces` (protobuf, as the fleet's exporter
 * sends; or OTLP/JSON) into spans, or answers 400 to a body that is not an OTLP export request.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export requests taken, and refused as undecodable. */
  requests = 0;
  rejected = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      receiver.take(req).then(
        (ok) => {
          res.writeHead(ok ? 200 : req.url === '/v1/traces' ? 400 : 404, { 'content-type': 'application/x-protobuf' });
          res.end();
        },
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** What OTEL_EXPORTER_OTLP_ENDPOINT should be: the exporter appends /v1/traces. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async take(req: IncomingMessage): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/traces') return false;
    try {
      this.spans.push(...decodeExport(Buffer.concat(chunks), req.headers['content-type']));
    } catch {
      this.rejected++;
      return false;
    }
    this.requests++;
    return true;
  }
}

/** The spans of one OTLP export request body: protobuf, or OTLP/JSON when the content type says so. Throws on anything else. */
export function decodeExport(body: Buffer, contentType = 'application/x-protobuf'): ReceivedSpan[] {
  if (/json/.test(contentType)) return spansOf(JSON.parse(body.toString('utf8')) as ExportRequest, 'hex');
  const request = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), {
    longs: String,
    enums: String,
    bytes: String,
  });
  return spansOf(request, 'base64');
}

function spansOf(request: ExportRequest, idEncoding: 'hex' | 'base64'): ReceivedSpan[] {
  const hex = (id: string | undefined) => (id ? Buffer.from(id, idEncoding).toString('hex') : '');
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        service,
        traceId: hex(span.traceId),
        spanId: hex(span.spanId),
        parentSpanId: hex(span.parentSpanId),
        name: span.name,
        kind: kindOf(span.kind),
        attributes: attributesOf(span.attributes),
        statusCode: Number(statusCodeOf(span.status?.code)),
      })),
    );
  });
}

function kindOf(kind: string | number): ReceivedSpan['kind'] {
  if (typeof kind === 'number') return KINDS[kind] ?? 'UNSPECIFIED';
  return (kind.replace(/^SPAN_KIND_/, '') as ReceivedSpan['kind']) ?? 'UNSPECIFIED';
}

function statusCodeOf(code: unknown): number {
  if (typeof code === 'number') return code;
  return code === 'STATUS_CODE_ERROR' ? 2 : code === 'STATUS_CODE_OK' ? 1 : 0;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value?.stringValue !== undefined) out[key] = value.stringValue;
    else if (value?.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value?.boolValue !== undefined) out[key] = value.boolValue;
    else if (value?.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}
