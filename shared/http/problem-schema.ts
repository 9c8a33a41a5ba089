import { Type } from '@sinclair/typebox';

/** The media type of every error Warren's HTTP servers answer (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/**
 * An RFC 9457 problem document as {@link sendProblem} writes it. Extensions are allowed (a response schema that
 * refused them would make Fastify's serializer drop them).
 */
export const ProblemDocument = Type.Object(
  {
    type: Type.String({ description: 'a URI naming the kind of problem, e.g. https://warren.dev/problems/validation' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.Optional(Type.String()),
    field: Type.Optional(Type.String({ description: 'the offending field as a JSON pointer, when one is to blame' })),
  },
  { additionalProperties: true, title: 'Problem' },
);

/**
 * A route's response for one error status: a problem document. Used in a route's `schema.response`, so the route's
 * OpenAPI description and its serializer come from the same object.
 */
export function problemResponse(description: string) {
  return { description, content: { [PROBLEM_MEDIA_TYPE]: { schema: ProblemDocument } } };
}
