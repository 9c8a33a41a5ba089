import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { createEvent } from '../../shared/events/codec';
import { sealToken } from '../../shared/security/sealed-token';
import { keyring } from '../../shared/security/token-keys';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { drainQueue, publishRaw, queueDepths } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

const TOKEN = 'tok_wire_SECRET_4242';
const key = (kid: string) => ({ kid, key: randomBytes(32) });
const OLD = key('k2026a');
const NEW = key('k2026b');
const FOREIGN = key('kstolen');
const keysVar = (...keys: { kid: string; key: Buffer }[]) => keys.map((k) => `${k.kid}:${k.key.toString('base64')}`).join(',');

/**
 * The payment token on the real bus: sealed by order, opened by payment, never in clear on the wire or in a dead
 * letter; a token that does not open is a dead letter whose reason does not leak it; a rotated-out key still opens.
 */
describe('payment token sealed on the bus (real RabbitMQ and Redis)', function () {
  this.timeout(60_000);
  let fleet: TestFleet;
  // The fleet after a rotation: NEW seals, OLD still opens.
  before(async () => (fleet = await startTestFleet({ PAYMENT_TOKEN_KEYS: keysVar(NEW, OLD), ORDER_TIMEOUT_MS: '60000' })));
  after(async () => fleet?.stop());

  const orderPlaced = (orderId: string, sealedPaymentToken: string) =>
    createEvent(
      'OrderPlaced',
      { orderId, customerId: 'c-1', items: [{ productId: 'TOK-1', quantity: 1 }], totalAmount: 10, currency: 'USD', sealedPaymentToken },
      { correlationId: orderId },
    );
  const publish = (event: { eventId: string }) =>
    publishRaw(fleet.config.amqpUrl, fleet.config.eventsExchange, 'order.placed', JSON.stringify(event), {
      messageId: event.eventId,
      type: 'OrderPlaced',
      contentType: 'application/json',
      persistent: true,
    });
  const confirmed = (orderId: string) =>
    waitFor(
      `order ${orderId} CONFIRMED`,
      async () => (await http('GET', `${fleet.urls.api}/orders/${orderId}`)).body.status === 'CONFIRMED',
    );

  it('OrderPlaced on the wire holds no clear token; payment opens it and charges', async () => {
    assert.equal((await http('PUT', `${fleet.urls.ops.inventory}/stock/TOK-1`, { available: 100 })).status, 200);
    // A raw consumer of its own on the exchange, as anyone with read access to the bus would be.
    const connection = await amqplib.connect(fleet.config.amqpUrl);
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, fleet.config.eventsExchange, 'order.placed');
    try {
      const placed = await http(
        'POST',
        `${fleet.urls.api}/orders`,
        orderRequest({ items: [{ productId: 'TOK-1', quantity: 1 }], paymentToken: TOKEN }),
      );
      assert.equal(placed.status, 202);
      const message = await waitFor('OrderPlaced on the wire', async () => (await channel.get(queue, { noAck: true })) || undefined);
      const wire = message.content.toString('utf8');
      assert.ok(!wire.includes(TOKEN) && !wire.includes('SECRET_4242'), `clear token on the wire: ${wire}`);
      const body = JSON.parse(wire);
      assert.equal(body.version, 3);
      assert.equal(body.paymentToken, undefined);
      assert.match(body.sealedPaymentToken, new RegExp(`^v1\\.${NEW.kid}\\.`), 'the first key seals');
      await confirmed(placed.body.orderId);
      assert.equal((await http('GET', `${fleet.urls.ops.payment}/payments/${placed.body.orderId}`)).body.captures, 1);
    } finally {
      await connection.close();
    }
  });

  it('rotation: a token sealed with the previous key still opens and is charged', async () => {
    const orderId = randomUUID();
    await publish(orderPlaced(orderId, sealToken(keyring([OLD]), 'tok_visa', orderId)));
    await confirmed(orderId);
    assert.equal((await http('GET', `${fleet.urls.ops.payment}/payments/${orderId}`)).body.captures, 1);
  });

  it('an unknown key id, a tampered token or a clear v2 token is a dead letter that does not leak the token', async () => {
    const unknown = randomUUID();
    const tampered = randomUUID();
    const clear = randomUUID();
    const sealed = sealToken(keyring([NEW]), TOKEN, tampered).split('.');
    sealed[3] = Buffer.from(Buffer.from(sealed[3]!, 'base64url').map((b) => b ^ 1)).toString('base64url');
    await publish(orderPlaced(unknown, sealToken(keyring([FOREIGN]), TOKEN, unknown)));
    await publish(orderPlaced(tampered, sealed.join('.')));
    const v2 = {
      ...orderPlaced(clear, sealToken(keyring([NEW]), TOKEN, clear)),
      version: 2,
      sealedPaymentToken: undefined,
      paymentToken: TOKEN,
    };
    await publish(JSON.parse(JSON.stringify(v2)));
    const dlq = 'warren.payment.dlq';
    await waitFor('three dead letters', async () => (await queueDepths(fleet.config.amqpUrl, [dlq]))[dlq]! >= 3);
    const dead = await drainQueue(fleet.config.amqpUrl, dlq);
    const byOrder = new Map(dead.map((m) => [JSON.parse(m.content.toString()).orderId as string, m]));
    const expected: [string, string, RegExp][] = [
      [unknown, 'UNKNOWN_TOKEN_KEY', new RegExp(`unknown key id ${FOREIGN.kid}`)],
      [tampered, 'TOKEN_NOT_AUTHENTIC', /not authentic/],
      [clear, 'CLEAR_PAYMENT_TOKEN', /in clear/],
    ];
    for (const [orderId, code, reason] of expected) {
      const message = byOrder.get(orderId);
      assert.ok(message, `${code}: no dead letter for ${orderId}`);
      const headers = message.properties.headers ?? {};
      assert.equal(headers['x-warren-reason-code'], code);
      assert.match(String(headers['x-warren-reason']), reason);
      assert.ok(!JSON.stringify(headers).includes(TOKEN), `${code}: the token leaked into the headers`);
      if (code !== 'CLEAR_PAYMENT_TOKEN') assert.ok(!message.content.toString().includes(TOKEN), `${code}: clear token in the body`);
      assert.equal((await http('GET', `${fleet.urls.ops.payment}/payments/${orderId}`)).status, 404, `${code}: charged`);
    }
    assert.ok(!fleet.logs.text().includes(TOKEN), 'the token reached a log line');
  });
});
