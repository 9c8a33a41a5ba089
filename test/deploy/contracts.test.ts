import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import YAML from 'yaml';
import type { CatalogEntry } from '../../shared/events/catalog';
import { publishedKeys, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { H } from '../../shared/messaging/retry-policy';
import { deadLetterQueueName, retryQueueName } from '../../shared/messaging/topology';
import { REPO, renderContracts } from '../../workers/contracts';
import { ORDER_EVENTS } from '../../workers/order/events';
import { FLEET_EVENTS, loadFleetConfig, SERVICE_DECLARATIONS } from '../../workers/registry';
import { startTestFleet, type TestFleet } from '../helpers/fleet';

const read = (file: string): string => readFileSync(path.join(REPO, file), 'utf8');
const readJson = (file: string): any => JSON.parse(read(file));
/** `GET /orders/:orderId` as an OpenAPI path and method. */
const openApiRoute = (route: string): [string, string] => {
  const [method, url] = route.split(' ') as [string, string];
  return [url.replace(/:(\w+)/g, '{$1}'), method.toLowerCase()];
};
/** A TypeBox schema as the document holds it: plain JSON. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/**
 * The contract documents are committed (clients are generated from them): this fails while any differs from what
 * `npm run contracts` would write, or is not a valid AsyncAPI 3.0 / OpenAPI 3.1 document, or leaves out an event,
 * an operation or a route.
 */
describe('contracts: docs/asyncapi.yaml, docs/openapi.json and docs/openapi-ops.json', function () {
  this.timeout(60_000);

  describe('are up to date', () => {
    it('each document is what npm run contracts writes', async () => {
      for (const file of await renderContracts()) {
        assert.ok(file.current.length > 0, `${file.path} is missing: run npm run contracts`);
        assert.ok(file.current === file.wanted, `${file.path} is stale: run npm run contracts and commit the result`);
      }
    });
  });

  describe('AsyncAPI', () => {
    let document: AsyncAPIDocumentInterface;
    let raw: any;

    before(async () => {
      const text = read('docs/asyncapi.yaml');
      const parsed = await new Parser().parse(text);
      // Spectral severities: 0 error, 1 warning; 2 and 3 are hints (such as "3.1.0 exists").
      const problems = parsed.diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
      assert.deepEqual(problems, [], 'the AsyncAPI parser finds no error or warning');
      assert.ok(parsed.document, 'the AsyncAPI parser returns a document');
      document = parsed.document;
      // The parser resolves references and annotates schemas: the checks of content read the file as written.
      raw = YAML.parse(text);
    });

    it('has every version of every catalog event, with the schema its validator compiles', () => {
      for (const [eventType, entry] of Object.entries(FLEET_EVENTS) as [string, CatalogEntry][]) {
        const versions = [
          [entry.version, entry.schema] as const,
          ...Object.entries(entry.legacy ?? {}).map(([v, l]) => [Number(v), l.schema] as const),
        ];
        for (const [version, schema] of versions) {
          const id = `${eventType}.v${version}`;
          const message = document.messages().get(id);
          assert.ok(message, `message ${id} is in the document`);
          assert.equal(message.name(), eventType);
          assert.deepEqual(plain(raw.components.schemas[id]), plain(schema), `${id}'s payload is the catalog's schema`);
          const channel = raw.channels[entry.routingKey];
          assert.ok(channel?.messages[id], `${id} is on channel ${entry.routingKey}`);
          assert.equal(channel.address, entry.routingKey);
        }
      }
    });

    it('gives each service the operations its declaration states, failure path included', () => {
      const { retryDelaysMs } = loadFleetConfig({});
      for (const service of SERVICE_DECLARATIONS) {
        const operations = document.operations().filterBy((op) =>
          op
            .tags()
            .all()
            .some((t) => t.name() === service.name),
        );
        const addresses = (action: 'send' | 'receive') =>
          operations
            .filter((op) => op.action() === action)
            .flatMap((op) =>
              op
                .channels()
                .all()
                .map((c) => c.address() ?? ''),
            )
            .sort();
        const queues = service.consumes.map((q) => q.name);
        const failurePath = queues.flatMap((q) => [...retryDelaysMs.map((d) => retryQueueName(q, d)), deadLetterQueueName(q)]);
        assert.deepEqual(addresses('send'), [...publishedKeys(service), ...failurePath].sort(), `${service.name} sends what it publishes`);
        assert.deepEqual(
          addresses('receive'),
          [...new Set(service.consumes.flatMap((q) => q.bindings))].sort(),
          `${service.name} receives what it binds`,
        );
      }
    });

    it('publishes the current version only, and receives every version', () => {
      const placed = ORDER_EVENTS.OrderPlaced;
      const ids = (operation: string) => (raw.operations[operation].messages as { $ref: string }[]).map((m) => m.$ref.split('/').pop());
      assert.deepEqual(ids('order.send.order.placed'), [`OrderPlaced.v${placed.version}`]);
      assert.equal(ids('payment.receive.order.placed').length, 1 + Object.keys(placed.legacy).length);
    });

    it('names every header Warren sets on a dead letter, and the traceparent on every event', () => {
      const deadLetter = raw.components.schemas.DeadLetterHeaders.properties;
      for (const header of Object.values(H)) assert.ok(deadLetter[header], `dead-letter header ${header}`);
      assert.ok(raw.components.schemas.EventHeaders.properties.traceparent);
      assert.deepEqual(raw.components.schemas.RetryHeaders.required, [
        H.attempt,
        H.firstFailureAt,
        H.lastFailureAt,
        H.queue,
        H.originalExchange,
        H.originalRoutingKey,
      ]);
    });
  });

  describe('OpenAPI', () => {
    for (const file of ['docs/openapi.json', 'docs/openapi-ops.json']) {
      it(`${file} is a valid OpenAPI 3.1 document`, async () => {
        // An ES module: imported the way a CommonJS test can.
        const { Validator } = await import('@seriousme/openapi-schema-validator');
        const validator = new Validator();
        const result = await validator.validate(readJson(file));
        assert.equal(validator.version, '3.1');
        assert.deepEqual(result, { valid: true });
      });
    }

    it('describes every order route, each error as problem+json', () => {
      const doc = readJson('docs/openapi.json');
      const order = SERVICE_DECLARATIONS.find((s) => s.name === 'order')!;
      for (const route of order.api.routes) {
        const [url, method] = openApiRoute(route);
        const operation = doc.paths[url]?.[method];
        assert.ok(operation, `${route} is in docs/openapi.json`);
        const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400);
        assert.ok(errors.length >= 2, `${route} lists its errors`);
        for (const [status, response] of errors as [string, any][])
          assert.deepEqual(
            response.content['application/problem+json']?.schema,
            { $ref: '#/components/schemas/Problem' },
            `${route} ${status} is application/problem+json, one Problem schema`,
          );
        assert.ok(operation.responses['400'] && operation.responses['500'], `${route} has the shared 400 and 500`);
      }
      assert.ok(doc.components.securitySchemes.bearerAuth, 'the bearer scheme is declared');
    });

    it("describes every ops port's routes, served by the ports that have them", () => {
      const doc = readJson('docs/openapi-ops.json');
      const services: readonly ServiceDeclaration[] = SERVICE_DECLARATIONS;
      for (const service of services) {
        for (const route of ['GET /healthz', 'GET /readyz', 'GET /metrics', ...(service.ops.routes ?? [])]) {
          const [url, method] = openApiRoute(route);
          assert.ok(doc.paths[url]?.[method], `${service.name}: ${route} is in docs/openapi-ops.json`);
          const ports = doc.paths[url].servers.map((s: any) => s.variables.port.description);
          assert.ok(ports.includes(service.ops.env), `${route} lists ${service.ops.env}`);
        }
      }
    });

    describe('served by a running order service', () => {
      let fleet: TestFleet;
      before(async () => {
        fleet = await startTestFleet({}, ['order']);
      });
      after(async () => {
        await fleet?.stop();
      });

      it('GET /openapi.json is the committed document but for its servers (relative there)', async () => {
        const response = await fetch(`${fleet.urls.api}/openapi.json`);
        assert.equal(response.status, 200);
        const { servers, ...served } = (await response.json()) as any;
        const { servers: _committed, ...committed } = readJson('docs/openapi.json');
        assert.deepEqual(servers, [{ url: '/' }]);
        assert.deepEqual(served, committed);
      });
    });
  });
});
