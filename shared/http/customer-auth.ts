import type { FastifyInstance, FastifyReply } from 'fastify';
import { AuthError, bearerToken, type Caller, type TokenVerifier } from '../auth/token-verifier';
import type { Logger } from '../observability/logger';
import { problemOf, sendProblem } from './problem';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, on an API with authentication on; undefined when it is off (AUTH_MODE=off). */
    caller?: Caller;
  }
}

/** The OpenAPI security scheme the order API's routes name (`schema.security`). */
export const BEARER_SECURITY = [{ bearerAuth: [] }];

/**
 * Every request to the API must carry a bearer token the verifier accepts, else 401 problem+json with a
 * `WWW-Authenticate` challenge (RFC 6750). Unmatched routes are refused the same way, so an anonymous caller
 * learns nothing of the routes. Logs say why a token was refused (jose's code), never the token.
 */
export function requireCaller(app: FastifyInstance, verifier: TokenVerifier, log: Logger): void {
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (req, reply) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) return unauthorized(reply, 'a bearer token is required (Authorization: Bearer <token>)', 'invalid_request');
    try {
      req.caller = await verifier(token);
      return undefined;
    } catch (error) {
      if (error instanceof AuthError) {
        log.info({ requestId: req.id, code: error.code }, 'bearer token refused');
        return unauthorized(reply, error.message, 'invalid_token');
      }
      log.warn({ requestId: req.id, err: (error as Error).message }, 'cannot verify bearer tokens');
      return sendProblem(reply, problemOf(503, 'tokens cannot be verified now; try again'));
    }
  });
}

function unauthorized(reply: FastifyReply, detail: string, error: 'invalid_request' | 'invalid_token'): FastifyReply {
  reply.header('www-authenticate', `Bearer error="${error}"`);
  return sendProblem(reply, problemOf(401, detail));
}
