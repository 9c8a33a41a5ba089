import { isDeepStrictEqual } from 'node:util';
import { PROBLEM_MEDIA_TYPE, ProblemDocument } from './problem-schema';

type Json = Record<string, unknown>;

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/**
 * Routes carry the problem schema inline (Fastify serializes with it); the document names it once, as
 * `components.schemas.Problem`, so a generated client has one Problem type instead of one per response.
 */
export function problemAsComponent(document: Json): Json {
  const problem: unknown = JSON.parse(JSON.stringify(ProblemDocument));
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values((operation['responses'] ?? {}) as Record<string, Json>)) {
        const media = (response['content'] as Record<string, Json> | undefined)?.[PROBLEM_MEDIA_TYPE];
        if (media && isDeepStrictEqual(media['schema'], problem)) media['schema'] = PROBLEM_REF;
      }
    }
  }
  const components = (document['components'] ?? {}) as Json;
  return { ...document, components: { ...components, schemas: { ...(components['schemas'] as Json), Problem: problem } } };
}
