import assert from 'node:assert/strict';
import type { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthError, createTokenVerifier, VerifierUnavailableError } from '../../shared/auth/token-verifier';
import { mintToken, TEST_AUDIENCE, TEST_JWT_SECRET, TEST_OPS_TOKEN } from '../helpers/tokens';

const refused = (code: RegExp) => (e: unknown) => e instanceof AuthError && code.test(e.code);

describe('bearer tokens: the verifier', () => {
  describe('hs256 (shared secret)', () => {
    const verifier = () =>
      createTokenVerifier({ mode: 'hs256', secret: TEST_JWT_SECRET, audience: TEST_AUDIENCE, opsToken: TEST_OPS_TOKEN });

    it('will not start the order API without the secret, naming AUTH_JWT_SECRET', async () => {
      await assert.rejects(
        createTokenVerifier({ mode: 'hs256', opsToken: TEST_OPS_TOKEN }),
        /^ConfigError: Invalid configuration: AUTH_JWT_SECRET: required/,
      );
    });

    it('takes the customer from the token subject', async () => {
      assert.deepEqual(await (await verifier())(await mintToken('cust-7')), { customerId: 'cust-7' });
    });

    it('refuses a bad signature, an expired token, another audience, alg none, and a subject that is no customer id', async () => {
      const verify = await verifier();
      await assert.rejects(verify(await mintToken('c', { secret: 'another-secret-of-32-characters-xx' })), refused(/SIGNATURE/));
      await assert.rejects(verify(await mintToken('c', { expiresIn: -120 })), refused(/EXPIRED/));
      await assert.rejects(verify(await mintToken('c', { audience: 'someone-else' })), refused(/CLAIM/));
      const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"c","aud":"warren-test","exp":9999999999}').toString('base64url')}.`;
      await assert.rejects(verify(none), (e) => e instanceof AuthError);
      await assert.rejects(verify(await mintToken('has space')), refused(/SUBJECT/));
    });
  });

  describe('jwt (JWKS URL)', () => {
    let server: Server;
    let url: string;
    let key: { privateKey: webcrypto.CryptoKey; kid: string; alg: string };

    before(async () => {
      const jose = await import('jose');
      const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
      key = { privateKey, kid: 'k1', alg: 'ES256' };
      const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
      server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    });
    after(() => server.close());

    const verifier = () => createTokenVerifier({ mode: 'jwt', jwksUrl: url, audience: TEST_AUDIENCE, opsToken: TEST_OPS_TOKEN });

    it('verifies a token signed by a key of the JWKS', async () => {
      assert.deepEqual(await (await verifier())(await mintToken('cust-9', { key })), { customerId: 'cust-9' });
    });

    it('refuses an HS256 token signed with anything (no algorithm confusion), another audience, an unknown kid', async () => {
      const verify = await verifier();
      await assert.rejects(verify(await mintToken('c')), refused(/ALG_NOT_ALLOWED/));
      await assert.rejects(verify(await mintToken('c', { key, audience: 'other' })), refused(/CLAIM/));
      await assert.rejects(verify(await mintToken('c', { key: { ...key, kid: 'k2' } })), refused(/NO_MATCHING_KEY/));
    });

    it('answers "unavailable", not "refused", when the JWKS cannot be fetched', async () => {
      const verify = await createTokenVerifier({
        mode: 'jwt',
        jwksUrl: 'http://127.0.0.1:9/jwks',
        audience: TEST_AUDIENCE,
        opsToken: TEST_OPS_TOKEN,
      });
      await assert.rejects(verify(await mintToken('c', { key })), (e) => e instanceof VerifierUnavailableError);
    });

    it('answers "unavailable" for a JWKS that answers 500, and then fetches nothing during the cool-down', async () => {
      let fetches = 0;
      const failing = createServer((_req, res) => {
        fetches++;
        res.statusCode = 500;
        res.end('{"error":"down"}');
      });
      await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
      try {
        const verify = await createTokenVerifier({
          mode: 'jwt',
          jwksUrl: `http://127.0.0.1:${(failing.address() as AddressInfo).port}/jwks`,
          audience: TEST_AUDIENCE,
          opsToken: TEST_OPS_TOKEN,
        });
        // Twenty callers with made-up key ids: the first finds the provider failing, the rest wait out the cool-down.
        for (let i = 0; i < 20; i++)
          await assert.rejects(
            verify(await mintToken('c', { key: { ...key, kid: `made-up-${i}` } })),
            (e) => e instanceof VerifierUnavailableError,
          );
        assert.equal(fetches, 1, `${fetches} fetches of the failing JWKS`);
      } finally {
        failing.close();
      }
    });
  });
});
