import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { problemAsComponent } from './problem-component';
import { problemResponse } from './problem-schema';

/** What an OpenAPI document says about its API as a whole. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

/**
 * The security schemes a route can name in `schema.security` (customer-auth.ts's `BEARER_SECURITY`, ops-auth.ts's
 * `OPS_SECURITY`): the document shows them, and such a route gets its 401.
 */
export const SECURITY_SCHEMES = {
  /** The order API's customers: a JWT whose `sub` is the customer (AUTH_MODE). */
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a JWT whose `sub` is the customer (AUTH_MODE)' },
  /** The ops ports' admin routes, reads and writes (all but the probes and /metrics): the shared OPS_TOKEN. */
  opsToken: { type: 'http', scheme: 'bearer', description: 'the OPS_TOKEN, for every ops route but /healthz, /readyz and /metrics' },
} as const;

type Responses = Record<string, unknown>;

/**
 * The problem+json answers {@link problemErrorHandler} gives on every route, so no route has to repeat them: a 400
 * when a route validates its input (or parses a body), 413 and 415 for a body, 401 for a route that needs a token
 * (and 503 for a customer's, whose keys come from the identity provider),
 * 500 for a bug. A route's own response for a status wins.
 */
export function withSharedProblems(schema: FastifySchema | undefined, method: string): FastifySchema {
  const own = (schema?.response ?? {}) as Responses;
  const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
  const validates = hasBody || Boolean(schema?.params || schema?.querystring || schema?.headers);
  const security = (Array.isArray(schema?.security) ? schema.security : []) as Record<string, unknown>[];
  const needsToken = security.length > 0;
  const verifiesWithProvider = security.some((requirement) => 'bearerAuth' in requirement);
  const shared: Responses = {
    ...(validates ? { 400: problemResponse('the request is invalid: bad JSON, or a field its schema refuses (named in `field`)') } : {}),
    ...(needsToken ? { 401: problemResponse('no bearer token, or one that does not verify') } : {}),
    ...(hasBody ? { 413: problemResponse('the body is over 64 KiB') } : {}),
    ...(verifiesWithProvider
      ? { 503: problemResponse("the identity provider's keys cannot be fetched to verify the token; try again") }
      : {}),
    ...(hasBody ? { 415: problemResponse('the body is not application/json') } : {}),
    500: problemResponse('an unexpected error (logged by the service)'),
  };
  return { ...schema, response: { ...shared, ...own } };
}

/**
 * Registers @fastify/swagger in dynamic mode: the document is built from the routes registered on `app` after this
 * (their schemas are the ones Fastify validates and serializes with, so it cannot drift). Await it before the routes.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  info: OpenApiInfo,
  schemes: readonly (keyof typeof SECURITY_SCHEMES)[],
): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info,
      // Relative to where the document is served; the committed copy names the default port instead.
      servers: [{ url: '/' }],
      components: {
        securitySchemes: Object.fromEntries(schemes.map((name) => [name, SECURITY_SCHEMES[name]])),
      },
    },
    // JSON Schema 2020-12 (OpenAPI 3.1) has `const`; there is no reason to rewrite it as a one-value enum.
    convertConstToEnum: false,
    transformObject: (document) =>
      problemAsComponent('openapiObject' in document ? (document.openapiObject as Record<string, unknown>) : {}),
    transform: ({ schema, url, route }) => ({
      schema: withSharedProblems(schema, Array.isArray(route.method) ? String(route.method[0]) : route.method),
      url,
    }),
  });
}

/** The document as built from `app`'s routes (a copy: the plugin caches its own). */
export function openApiDocument(app: FastifyInstance): Record<string, unknown> {
  return structuredClone(app.swagger()) as unknown as Record<string, unknown>;
}

/** `GET /openapi.json`: the API's own description, left out of itself. */
export function serveOpenApi(app: FastifyInstance): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => openApiDocument(app));
}
