import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { fieldOf } from '../events/codec';

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** The offending field as a JSON pointer, when one is to blame. */
  field?: string;
  [extension: string]: unknown;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A problem with the standard title for its status. */
export function problemOf(status: number, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: `https://warren.dev/problems/${status}`, title: TITLES[status] ?? 'Error', status, detail, ...extra };
}

/** Unmatched routes: problem+json like every other error (Fastify's default is a plain JSON body). */
export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, problemOf(404, 'no such route'));
}

/**
 * Errors Fastify meets before routing: a URL whose percent-encoding does not decode (400), a path parameter over
 * `maxParamLength` (414).
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 414
      : error.statusCode && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 400;
  const detail =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path segment is too long'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'the URL is not validly encoded'
        : 'the request could not be read';
  void sendProblem(reply, problemOf(status, detail));
}

/** Turns Fastify's validation, size and content-type errors into problem+json naming the field. */
export function problemErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const first = error.validation[0];
    const field = fieldOf(first as never).replace(/^\/body/, '') || '/';
    return sendProblem(reply, {
      type: 'https://warren.dev/problems/validation',
      title: 'Invalid request body',
      status: 400,
      detail: `${field} ${first?.message ?? 'is invalid'}`,
      field,
    });
  }
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  // The request id ties the client's 500 to this line; only the message is logged (never headers or the body,
  // which may carry a bearer token or a payment token), and the logger scrubs credentials inside it.
  if (status === 500)
    request.log.error(
      { requestId: request.id, method: request.method, route: request.routeOptions.url, err: error.message },
      'unhandled error',
    );
  const detail =
    status === 400 && error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
      ? 'body is not valid JSON'
      : status === 500
        ? 'internal error'
        : error.message;
  return sendProblem(reply, {
    type: `https://warren.dev/problems/${status}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(status === 400 || status === 413 || status === 415 ? { field: '/' } : {}),
    ...(status === 500 ? { requestId: request.id } : {}),
  });
}
