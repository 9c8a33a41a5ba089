import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ConfigError, loadConfig } from '../../shared/config/config';
import { createEvent, decodeEvent } from '../../shared/events/codec';
import { ClearPaymentTokenError } from '../../workers/order/events';
import { errorClass, SchemaViolationError } from '../../shared/errors/errors';
import { requireTokenKeys } from '../../shared/lifecycle/require-token-keys';
import { openToken, sealToken, SealedTokenError } from '../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING, keyring } from '../../shared/security/token-keys';

const TOKEN = 'tok_4242_secret_visa';
const key = (kid: string) => ({ kid, key: randomBytes(32) });
const quiet = pino({ level: 'silent' });

describe('payment tokens sealed for the bus (AES-256-GCM with key ids)', () => {
  const k1 = key('k1');
  const k2 = key('k2');

  it('seals a token into a string that holds no part of it, and opens it for the same order', () => {
    const sealed = sealToken(keyring([k1]), TOKEN, 'order-1');
    assert.match(sealed, /^v1\.k1\./);
    assert.ok(!sealed.includes('tok_') && !sealed.includes('4242'), sealed);
    assert.equal(openToken(keyring([k1]), sealed, 'order-1'), TOKEN);
    assert.notEqual(sealToken(keyring([k1]), TOKEN, 'order-1'), sealed, 'a fresh IV every time');
  });

  it('rotation: a ring whose first key is new seals with it and still opens tokens sealed with the old one', () => {
    const old = sealToken(keyring([k1]), TOKEN, 'order-1');
    const rotated = keyring([k2, k1]);
    assert.equal(openToken(rotated, old, 'order-1'), TOKEN);
    assert.match(sealToken(rotated, TOKEN, 'order-1'), /^v1\.k2\./);
  });

  const cut = (tag: string, bytes: number) => Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url');

  it('refuses an unknown key id, altered bytes and another order, naming the key id but never the token', () => {
    const sealed = sealToken(keyring([k1]), TOKEN, 'order-1');
    const [v, kid, iv, ct, tag] = sealed.split('.') as [string, string, string, string, string];
    const flipped = ct.slice(0, -2) + (ct.at(-2) === 'A' ? 'B' : 'A') + ct.at(-1);
    const cases: [string, () => string, string][] = [
      ['unknown kid', () => openToken(keyring([k2]), sealed, 'order-1'), 'UNKNOWN_TOKEN_KEY'],
      ['altered ciphertext', () => openToken(keyring([k1]), [v, kid, iv, flipped, tag].join('.'), 'order-1'), 'TOKEN_NOT_AUTHENTIC'],
      ['another order', () => openToken(keyring([k1]), sealed, 'order-2'), 'TOKEN_NOT_AUTHENTIC'],
      ['a kid swapped in', () => openToken(keyring([k1, k2]), [v, 'k2', iv, ct, tag].join('.'), 'order-1'), 'TOKEN_NOT_AUTHENTIC'],
      ['a short tag', () => openToken(keyring([k1]), [v, kid, iv, ct, tag.slice(0, 4)].join('.'), 'order-1'), 'TOKEN_NOT_AUTHENTIC'],
      // GCM checks only as many tag bytes as it is given unless told the length: 4 right bytes are 2^32 guesses.
      [
        'the right tag cut to 4 bytes',
        () => openToken(keyring([k1]), [v, kid, iv, ct, cut(tag, 4)].join('.'), 'order-1'),
        'TOKEN_NOT_AUTHENTIC',
      ],
    ];
    for (const [what, open, code] of cases) {
      assert.throws(
        open,
        (error: unknown) =>
          error instanceof SealedTokenError && error.code === code && !error.message.includes(TOKEN) && !error.message.includes(ct),
        what,
      );
    }
  });

  it('OrderPlaced v3 carries only the sealed token; a clear one is refused on the way out and on the way in', () => {
    const payload = { orderId: 'o-1', customerId: 'c', items: [{ productId: 'P', quantity: 1 }], totalAmount: 1, currency: 'EUR' };
    const sealedPaymentToken = sealToken(DEV_TOKEN_KEYRING, TOKEN, 'o-1');
    const event = createEvent('OrderPlaced', { ...payload, sealedPaymentToken }, { correlationId: 'o-1' });
    assert.equal(event.version, 3);
    assert.throws(
      () => createEvent('OrderPlaced', { ...payload, paymentToken: TOKEN } as never, { correlationId: 'o-1' }),
      SchemaViolationError,
    );
    assert.throws(() => decodeEvent({ ...event, paymentToken: TOKEN }), SchemaViolationError);
    assert.throws(() => decodeEvent({ ...event, sealedPaymentToken: TOKEN }), SchemaViolationError);
    const v2 = { ...event, version: 2, sealedPaymentToken: undefined, paymentToken: TOKEN };
    assert.throws(
      () => decodeEvent(JSON.parse(JSON.stringify(v2))),
      (error: unknown) =>
        error instanceof ClearPaymentTokenError &&
        !error.message.includes(TOKEN) &&
        // What the dead letter and its metric are labelled with.
        error.code === 'CLEAR_PAYMENT_TOKEN' &&
        errorClass(error) === 'ClearPaymentTokenError',
    );
    assert.throws(
      () => decodeEvent(JSON.parse(JSON.stringify({ ...v2, paymentToken: '4111111111111111' }))),
      SchemaViolationError,
      'a v2 token field holding something else (a card number) is not read as a token',
    );
    const { sealedPaymentToken: _, ...withoutToken } = event;
    assert.equal(decodeEvent({ ...withoutToken, version: 2 }).version, 3, 'a v2 event without a token is upcast');
  });

  it('PAYMENT_TOKEN_KEYS: kid:base64key list, the first seals; a bad entry is one line that never echoes the key', () => {
    const b64 = (k: { key: Buffer }) => k.key.toString('base64');
    const config = loadConfig({ PAYMENT_TOKEN_KEYS: `k2:${b64(k2)}, k1:${b64(k1)}` });
    assert.equal(config.paymentTokenKeys?.current.kid, 'k2');
    assert.equal(openToken(config.paymentTokenKeys!, sealToken(keyring([k1]), TOKEN, 'o'), 'o'), TOKEN);
    assert.equal(loadConfig({}).paymentTokenKeys, undefined);
    const short = randomBytes(16).toString('base64');
    for (const [value, why] of [
      [`k1:${short}`, /^Invalid configuration: PAYMENT_TOKEN_KEYS: key k1: expected 32 bytes in base64, got 16$/],
      [b64(k1), /^Invalid configuration: PAYMENT_TOKEN_KEYS: entry 1: expected kid:base64key/],
      [`k1:${b64(k1)},k1:${b64(k2)}`, /^Invalid configuration: PAYMENT_TOKEN_KEYS: key id k1 appears twice$/],
    ] as const) {
      assert.throws(
        () => loadConfig({ PAYMENT_TOKEN_KEYS: value }),
        (error: unknown) =>
          error instanceof ConfigError && why.test(error.message) && !error.message.includes(short) && !error.message.includes(b64(k1)),
        value,
      );
    }
  });

  it('production refuses to start without keys (one line naming the variable); a laptop gets the dev key', () => {
    assert.throws(() => requireTokenKeys({ production: true }, quiet), {
      message: /^Invalid configuration: PAYMENT_TOKEN_KEYS: required in production/,
    });
    assert.equal(requireTokenKeys({ production: false }, quiet), DEV_TOKEN_KEYRING);
  });
});
