import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { http, orderRequest } from '../helpers/api';
import { addVhostUser, createVhost, deleteVhost, rabbitmqctl } from '../helpers/broker';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { awaitFinal } from '../helpers/invariants';
import { LogCapture } from '../helpers/log-capture';
import { publishRaw } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';
import { createLogger } from '../../shared/observability/logger';

const TOKEN = 'tok_visa_secret123';
/** A distinctive amount: the contract says no amount field is logged in full either. */
const AMOUNT = 4817.93;

/** Every place a secret shows up in captured log text, with a little context. */
function leaks(text: string, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    for (let i = text.indexOf(secret); i >= 0; i = text.indexOf(secret, i + 1))
      found.push(`${name}: …${text.slice(Math.max(0, i - 120), i + secret.length + 40)}…`);
  }
  return found;
}

describe('log hygiene: payment tokens, amounts and credentials never reach a log line', function () {
  this.timeout(120_000);

  describe('a fleet on a password-protected broker account, driven through orders, poison and a refused login', () => {
    const user = `warren-hyg-${randomBytes(3).toString('hex')}`;
    const password = `amqp-pw-${randomBytes(8).toString('hex')}`;
    let vhost: string;
    let fleet: TestFleet;

    before(async () => {
      const created = await createVhost('warren-hyg');
      vhost = created.vhost;
      fleet = await startTestFleet({ AMQP_URL: await addVhostUser(vhost, user, password), LOG_LEVEL: 'trace' });
    });

    after(async () => {
      await fleet?.stop();
      await rabbitmqctl('delete_user', user).catch(() => undefined);
      if (vhost) await deleteVhost(vhost);
    });

    it('logs neither the token, the amount nor the broker password', async () => {
      const { amqpUrl, eventsExchange } = fleet.config;
      await http('PUT', `${fleet.urls.ops.inventory}/stock/HYG-IN`, { available: 100 });
      await http('PUT', `${fleet.urls.ops.inventory}/stock/HYG-OUT`, { available: 0 });
      const bodies = [
        orderRequest({ items: [{ productId: 'HYG-IN', quantity: 1 }], paymentToken: TOKEN, totalAmount: AMOUNT }),
        orderRequest({ items: [{ productId: 'HYG-OUT', quantity: 1 }], paymentToken: TOKEN, totalAmount: AMOUNT }),
        orderRequest({ items: [{ productId: 'HYG-IN', quantity: 1 }], paymentToken: 'tok_decline', totalAmount: AMOUNT }),
        orderRequest({ items: [{ productId: 'HYG-IN', quantity: 1 }], paymentToken: 'tok_flaky', totalAmount: AMOUNT }),
      ];
      const ids: string[] = [];
      for (const body of bodies) {
        const r = await http('POST', `${fleet.urls.api}/orders`, body, { 'idempotency-key': `hyg-${randomBytes(4).toString('hex')}` });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        ids.push(r.body.orderId as string);
      }
      // Poison carrying the token: broken JSON (parsers quote the input in their messages) and a schema violation.
      await publishRaw(
        amqpUrl,
        eventsExchange,
        'order.placed',
        `{"eventType":"OrderPlaced","paymentToken":"${TOKEN}","totalAmount":${AMOUNT},`,
        { messageId: 'hyg-poison-json' },
      );
      await publishRaw(
        amqpUrl,
        eventsExchange,
        'order.placed',
        JSON.stringify({
          eventType: 'OrderPlaced',
          orderId: 'hyg-poison',
          items: [{ productId: 'HYG-IN', quantity: -1 }],
          totalAmount: AMOUNT,
          paymentToken: TOKEN,
          timestamp: new Date().toISOString(),
        }),
        { messageId: 'hyg-poison-schema', contentType: 'application/json' },
      );
      const outcomes = await awaitFinal(fleet.urls.api, ids);
      assert.deepEqual(
        ids.map((id) => outcomes.get(id)!.status),
        ['CONFIRMED', 'CANCELLED', 'CANCELLED', 'CONFIRMED'],
      );
      await waitFor('both poison messages dead-lettered in every queue', () => fleet.logs.entries('message dead-lettered').length >= 6);

      // A refused login: the password changes under the running fleet, which must log its failed reconnects.
      await rabbitmqctl('change_password', user, `${password}-rotated`);
      await rabbitmqctl('close_all_connections', '-p', vhost, 'log hygiene test');
      await waitFor('a refused reconnect logged', () => fleet.logs.entries('amqp connect failed; retrying').length > 0, 20_000);
      await rabbitmqctl('change_password', user, password);
      await waitFor('the fleet reconnected', async () => (await http('GET', `${fleet.urls.ops.order}/readyz`)).status === 200, 20_000);

      const text = fleet.logs.text();
      assert.ok(fleet.logs.lines.length > 50, `only ${fleet.logs.lines.length} log lines captured`);
      assert.deepEqual(leaks(text, { token: TOKEN, amount: String(AMOUNT), password, encodedPassword: encodeURIComponent(password) }), []);
      // The log still says what happened, without the secrets.
      assert.ok(fleet.logs.entries('order accepted').length >= bodies.length);
    });
  });

  describe('the logger itself', () => {
    const capture = () => {
      const sink = new LogCapture();
      return { sink, log: createLogger({ service: 'test', level: 'trace', destination: sink }) };
    };

    it('censors token, amount and credential fields at any usual depth, and credentials inside URLs in any string', async () => {
      const { sink, log } = capture();
      const secretUrl = `amqp://warren:${'pa55-word-xyz'}@rabbit:5672/prod`;
      log.info({ paymentToken: TOKEN, totalAmount: AMOUNT, amount: AMOUNT }, 'flat');
      log.info({ event: { paymentToken: TOKEN, totalAmount: AMOUNT } }, 'nested');
      log.info({ message: { body: { paymentToken: TOKEN, amount: AMOUNT } } }, 'deeper');
      log.info({ config: { amqpUrl: secretUrl, redisUrl: 'redis://:redis-pass-xyz@redis:6379' } }, 'config');
      log.warn({ err: `connect failed for ${secretUrl}: ECONNREFUSED` }, 'error text');
      log.error({ err: new Error(`handshake to ${secretUrl} refused`) }, 'error object');
      log.info(`connecting to ${secretUrl}`);
      log.child({ url: secretUrl }).info('child binding');
      log.info({ headers: { authorization: 'Bearer abc.def.ghi' }, password: 'hunter2-xyz', secret: 's3cr3t-xyz' }, 'auth');
      await new Promise<void>((resolve) => log.flush(() => resolve()));
      const text = sink.text();
      assert.deepEqual(
        leaks(text, {
          token: TOKEN,
          amount: String(AMOUNT),
          password: 'pa55-word-xyz',
          redis: 'redis-pass-xyz',
          bearer: 'abc.def.ghi',
          hunter: 'hunter2-xyz',
          secret: 's3cr3t-xyz',
        }),
        [],
      );
      // Censored, not dropped: the operator still sees where a URL pointed.
      assert.match(text, /amqp:\/\/warren:\[redacted\]@rabbit:5672\/prod/);
      assert.equal(sink.lines.length, 9);
    });
  });
});
