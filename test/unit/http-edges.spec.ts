import assert from 'node:assert/strict';
import { createOpsServer } from '../../shared/http/ops-server';
import { createHttpServer, MAX_URL_LENGTH } from '../../shared/http/server';
import { createLogger } from '../../shared/observability/logger';
import { Registry } from 'prom-client';
import { LogCapture } from '../helpers/log-capture';
import { TEST_OPS_TOKEN } from '../helpers/tokens';

const PROBLEM = 'application/problem+json; charset=utf-8';

describe('HTTP edges: every error is problem+json; 500s logged with the request id', () => {
  it('answers an unmatched route 404 problem+json', async () => {
    const app = createHttpServer();
    const res = await app.inject({ method: 'GET', url: '/nowhere' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.json().status, 404);
  });

  it('answers a URL over the limit 414 problem+json', async () => {
    const app = createHttpServer();
    app.get('/orders/:id', async () => ({}));
    const res = await app.inject({ method: 'GET', url: `/orders/${'a'.repeat(MAX_URL_LENGTH)}` });
    assert.equal(res.statusCode, 414);
    assert.equal(res.headers['content-type'], PROBLEM);
  });

  it('answers a badly encoded URL 400 problem+json', async () => {
    const app = createHttpServer();
    app.get('/orders/:id', async () => ({}));
    const res = await app.inject({ method: 'GET', url: '/orders/%E0%A4%A' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.match(res.json().detail, /not validly encoded/);
  });

  it('answers a non-JSON body 415 problem+json', async () => {
    const app = createHttpServer();
    app.post('/orders', async () => ({}));
    const res = await app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    assert.equal(res.statusCode, 415);
    assert.equal(res.headers['content-type'], PROBLEM);
  });

  it('logs a 500 with its request id and no header or body, and gives the client that id', async () => {
    const capture = new LogCapture();
    const app = createHttpServer({ log: createLogger({ service: 'test', level: 'info', destination: capture }) });
    app.post('/boom', async () => {
      throw new Error('kaput');
    });
    const res = await app.inject({
      method: 'POST',
      url: '/boom',
      headers: { authorization: 'Bearer secret-token-value', 'x-request-id': 'req-42' },
      payload: { paymentToken: 'tok_secret_value' },
    });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['content-type'], PROBLEM);
    assert.equal(res.headers['x-request-id'], 'req-42');
    assert.equal(res.json().requestId, 'req-42');
    const [line] = capture.entries('unhandled error');
    assert.equal(line?.['requestId'], 'req-42');
    assert.equal(line?.['err'], 'kaput');
    assert.doesNotMatch(capture.text(), /secret-token-value|tok_secret_value/);
  });

  it('replaces an unsafe X-Request-Id with its own', async () => {
    const app = createHttpServer();
    const res = await app.inject({ method: 'GET', url: '/x', headers: { 'x-request-id': 'evil\u001b[31m' } });
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('HTTP edges: the ops token', () => {
  const ops = () => {
    const app = createOpsServer(new Registry(), [], [], { opsToken: TEST_OPS_TOKEN });
    app.put('/stock/:id', async () => ({ ok: true }));
    app.get('/stock/:id', async () => ({ available: 1 }));
    return app;
  };

  it('refuses a state-changing route without it, or with another token, 401 problem+json', async () => {
    const app = ops();
    for (const headers of [{}, { authorization: 'Bearer not-the-ops-token' }, { authorization: TEST_OPS_TOKEN }]) {
      const res = await app.inject({ method: 'PUT', url: '/stock/P1', headers, payload: { available: 1 } });
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.headers['content-type'], PROBLEM);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
  });

  it('lets it through, and leaves /metrics, /healthz, /readyz open (admin reads are not: ops-auth.spec.ts)', async () => {
    const app = ops();
    const put = await app.inject({
      method: 'PUT',
      url: '/stock/P1',
      headers: { authorization: `Bearer ${TEST_OPS_TOKEN}` },
      payload: { available: 1 },
    });
    assert.equal(put.statusCode, 200);
    for (const url of ['/metrics', '/healthz', '/readyz']) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
    assert.equal((await app.inject({ method: 'GET', url: '/stock/P1' })).statusCode, 401, 'an admin read');
  });
});
