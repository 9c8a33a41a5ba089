import assert from 'node:assert/strict';
import { asyncApiDocument, type AsyncApiInput } from '../../shared/documents/asyncapi-document';
import { describedOnly } from '../../shared/documents/described-only';
import { localServer, mergeOpsDocuments } from '../../shared/documents/openapi-documents';
import { withSharedProblems } from '../../shared/http/openapi';
import { Type } from '@sinclair/typebox';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { FLEET_EVENTS } from '../../workers/registry';

const shipping: ServiceDeclaration = {
  name: 'shipping',
  summary: 'ships confirmed orders',
  consumes: [{ name: 'warren.shipping', bindings: ['order.confirmed'] }],
  events: { ShippingDispatched: { routingKey: 'shipping.dispatched', version: 1, schema: Type.Object({}) } },
  ops: { env: 'SHIPPING_OPS_PORT', default: 9104 },
  redisKeys: ['shipment:*'],
};

const input = (services: readonly ServiceDeclaration[]): AsyncApiInput => ({
  services,
  catalog: FLEET_EVENTS,
  broker: { exchange: 'warren.events', retryDelaysMs: [1000, 5000], vhost: '/' },
  brokerHost: '127.0.0.1:5672',
  version: '0.0.0',
});

describe('contracts (unit)', () => {
  it('refuses a declaration naming a routing key no catalog event has, naming both', () => {
    assert.throws(() => asyncApiDocument(input([shipping])), /shipping declares routing key shipping\.dispatched/);
  });

  it('gives a consuming service one retry channel per tier and a DLQ, each with its send operation', () => {
    const doc = asyncApiDocument(input([{ ...shipping, events: {} }])) as any;
    assert.deepEqual(
      Object.keys(doc.channels).filter((c) => c.startsWith('warren.')),
      ['warren.shipping.retry.1000', 'warren.shipping.retry.5000', 'warren.shipping.dlq'],
    );
    assert.deepEqual(Object.keys(doc.operations), [
      'shipping.receive.order.confirmed',
      'shipping.retry.warren.shipping.retry.1000',
      'shipping.retry.warren.shipping.retry.5000',
      'shipping.deadLetter.warren.shipping.dlq',
    ]);
    assert.equal(doc.operations['shipping.retry.warren.shipping.retry.1000'].action, 'send');
  });

  it("adds the error handler's problem answers to a route, keeping the route's own", () => {
    const own = { description: 'conflict' };
    const post = withSharedProblems({ body: {}, response: { 409: own } }, 'POST').response as Record<string, unknown>;
    assert.deepEqual(Object.keys(post).sort(), ['400', '409', '413', '415', '500']);
    assert.equal(post['409'], own);
    const get = withSharedProblems(undefined, 'GET').response as Record<string, unknown>;
    assert.deepEqual(Object.keys(get), ['500']);
    const secured = withSharedProblems({ params: {}, security: [{ bearerAuth: [] }] }, 'GET').response as Record<string, unknown>;
    assert.deepEqual(Object.keys(secured).sort(), ['400', '401', '500', '503']);
    const ops = withSharedProblems({ body: {}, security: [{ opsToken: [] }] }, 'PUT').response as Record<string, unknown>;
    assert.deepEqual(Object.keys(ops).sort(), ['400', '401', '413', '415', '500']);
  });

  it('merges ops ports: a shared path once, listing every port that serves it', () => {
    const port = (service: string, env: string, n: number, paths: Record<string, unknown>) => ({
      service,
      server: localServer(env, n, service),
      document: { openapi: '3.1.0', servers: [{ url: '/' }], paths },
    });
    const merged = mergeOpsDocuments([
      port('a', 'A_OPS_PORT', 1, { '/healthz': { get: {} } }),
      port('b', 'B_OPS_PORT', 2, { '/healthz': { get: {} }, '/stock': { put: {} } }),
    ]) as any;
    assert.equal(merged.servers, undefined);
    assert.deepEqual(
      merged.paths['/healthz'].servers.map((s: any) => s.variables.port.description),
      ['A_OPS_PORT', 'B_OPS_PORT'],
    );
    assert.deepEqual(
      merged.paths['/stock'].servers.map((s: any) => s.variables.port.default),
      ['2'],
    );
  });

  it('lends stand-ins a route function may destructure but never call', async () => {
    const deps = describedOnly<{ store: { get(id: string): Promise<unknown> } }>('test deps');
    const { store } = deps;
    assert.throws(() => store.get('x'), /test deps: registered to be described, never run/);
    // Not a thenable: awaiting one gives it back instead of hanging.
    assert.equal(await Promise.resolve(deps), deps);
  });
});
