import type { ValidatorSpec } from 'envalid';
import { nonNegativeInt, positiveInt, ratio } from '../../shared/config/validators';
import { secretsOf, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { ADMIN_USER, brokerUser, passwordEnv } from './broker-definitions';

/**
 * files/services.json: what the chart's templates need of each service (Helm cannot run TypeScript). Templates
 * range over it for Deployments, Services, PDBs, autoscalers, credentials and the RabbitmqCluster's users.
 */
export function chartServices(services: readonly ServiceDeclaration[]): object {
  return {
    $comment: 'Generated from workers/registry.ts by `npm run deploy:generate`; do not edit.',
    services: services.map((s) => ({
      name: s.name,
      summary: s.summary,
      user: brokerUser(s.name),
      passwordEnv: passwordEnv(s.name),
      // Secrets only this service gets (PAYMENT_TOKEN_KEYS): a Secret key each, lower-case with dashes.
      secrets: secretsOf(s),
      queues: s.consumes.map((q) => q.name),
      ops: { env: s.ops.env, default: s.ops.default, routes: s.ops.routes ?? [] },
      ...(s.api ? { api: { env: s.api.env, default: s.api.default, routes: s.api.routes } } : {}),
    })),
  };
}

// JSON Schema fragments are loosely shaped JSON; `unknown` would need a cast at every nested read.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;

const keyed = (names: readonly string[], schema: Schema): Schema => Object.fromEntries(names.map((n) => [n, schema]));

const integer = (minimum: number): Schema => ({ type: ['integer', 'string'], minimum, pattern: '^[0-9]+$' });
/** What a setting's validator accepts, as the chart's schema says it: known by its parser, else any string. */
const SETTING_SCHEMAS = new Map<unknown, Schema>([
  [positiveInt()._parse, integer(1)],
  [nonNegativeInt()._parse, integer(0)],
  [ratio()._parse, { type: ['number', 'string'], minimum: 0, maximum: 1, pattern: '^(0(\\.[0-9]+)?|1(\\.0+)?)$' }],
]);
const settingSchema = (spec: ValidatorSpec<unknown>): Schema => SETTING_SCHEMAS.get(spec._parse) ?? { type: 'string' };

/**
 * values.schema.json with its per-service parts rewritten from the declarations: the port variables and each
 * service's settings under `config`, and one key per service under `secrets.amqpUrls`, `secrets.redisUrls`, `services`,
 * `rabbitmqCluster.passwords` and `rabbitmqCluster.passwordHashes`. The rest of the schema is hand-written; each
 * service's settings are `#/definitions/service`, never a copy.
 */
export function valuesSchema(services: readonly ServiceDeclaration[], current: Schema, sharedVariables: readonly string[]): Schema {
  const schema = structuredClone(current);
  const names = services.map((s) => s.name);
  const ports = services.flatMap((s) => [s.ops.env, ...(s.api ? [s.api.env] : [])]);
  const settings = Object.fromEntries(
    services.flatMap((s) => Object.entries(s.settings ?? {}).map(([name, spec]) => [name, settingSchema(spec)] as const)),
  );
  const config = schema['properties']['config'];
  const shared = Object.entries<Schema>(config.properties).filter(([key]) => sharedVariables.includes(key));
  config.properties = { ...Object.fromEntries(shared), ...settings, ...keyed(ports, { $ref: '#/definitions/port' }) };
  // A service's settings are optional here: unset, the service takes its declared default.
  config.required = (config.required as string[]).filter((key) => sharedVariables.includes(key));
  schema['properties']['secrets']['properties']['amqpUrls']['properties'] = keyed(names, { $ref: '#/definitions/amqpUrl' });
  schema['properties']['secrets']['properties']['redisUrls']['properties'] = keyed(names, { $ref: '#/definitions/redisUrl' });
  schema['properties']['services']['properties'] = keyed(names, { $ref: '#/definitions/service' });
  const passwords = schema['properties']['rabbitmqCluster']['properties']['passwords'];
  passwords.properties = keyed([...names, ADMIN_USER], { type: 'string' });
  const hashes = schema['properties']['rabbitmqCluster']['properties']['passwordHashes'];
  hashes.properties = keyed([...names, ADMIN_USER], { $ref: '#/definitions/rabbitPasswordHash' });
  return schema;
}
