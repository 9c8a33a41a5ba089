import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../http/openapi';
import { createHttpServer } from '../http/server';

type Document = Record<string, unknown>;
type PathItem = Record<string, unknown>;

/**
 * The OpenAPI document of the routes `register` puts on a fresh app: the real registrations, on an app that never
 * listens (their handlers never run, so their dependencies may be stand-ins).
 */
export async function describeRoutes(register: (app: FastifyInstance) => Promise<void> | void): Promise<Document> {
  const app = createHttpServer();
  try {
    await register(app);
    await app.ready();
    return openApiDocument(app);
  } finally {
    await app.close();
  }
}

/** A server of one port on localhost, the port being the default of the variable that moves it. */
export function localServer(env: string, port: number, description: string) {
  return { url: 'http://localhost:{port}', description, variables: { port: { default: String(port), description: env } } };
}

/** One ops port's document, and the server it is reached at. */
export interface OpsPortDocument {
  service: string;
  server: ReturnType<typeof localServer>;
  document: Document;
}

/**
 * The ops ports of every service as one document: the routes they all share (`/healthz`, `/readyz`, `/metrics`)
 * once, each service's admin routes beside them, and every path's `servers` naming the ports that serve it.
 */
export function mergeOpsDocuments(ports: readonly OpsPortDocument[]): Document {
  const [first] = ports;
  if (!first) throw new Error('no ops ports to describe');
  const paths: Record<string, PathItem> = {};
  const servedBy: Record<string, OpsPortDocument['server'][]> = {};
  for (const port of ports) {
    for (const [path, item] of Object.entries((port.document['paths'] ?? {}) as Record<string, PathItem>)) {
      paths[path] ??= item;
      (servedBy[path] ??= []).push(port.server);
    }
  }
  const { servers: _relative, ...base } = first.document;
  return {
    ...base,
    paths: Object.fromEntries(Object.entries(paths).map(([path, item]) => [path, { servers: servedBy[path], ...item }])),
  };
}
