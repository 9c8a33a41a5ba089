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
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  503: 'Service Unavailable',
};

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
  if (status === 500) request.log.error({ err: error.message }, 'unhandled error');
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
  });
}
