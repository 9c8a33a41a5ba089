import pino, { type Logger } from 'pino';

export type { Logger };

/** The fields censored wherever they appear (top level or up to three objects deep). */
const SECRET_FIELDS = ['paymentToken', 'token', 'password', 'secret', 'authorization', 'amqpUrl', 'redisUrl', 'totalAmount', 'amount'];

/**
 * Paths pino censors wherever they appear: payment tokens, amounts (the contract: no token or amount field is ever
 * logged in full), credentials and secrets never reach a log line, whatever a caller passes in.
 */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]),
  'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
];

/** `scheme://user:password@` inside any string: the password goes, the user and host stay for the operator. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]+)@/gi;

export function scrubCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_CREDENTIALS, '$1$2:[redacted]@') : text;
}

/** Copies plain objects and arrays (a few levels deep) with URL credentials censored in every string. */
function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubCredentials(value);
  if (depth >= 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

export interface LoggerOptions {
  service: string;
  level: string;
  /** Where lines go; standard output by default. Tests pass a stream to inspect what was written. */
  destination?: pino.DestinationStream;
}

/** The root logger of a service; handlers and modules take `child()` loggers with their own fields. */
export function createLogger({ service, level, destination }: LoggerOptions): Logger {
  const logger = pino(
    {
      level,
      base: { service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Field names are censored by `redact`; credentials inside free text (error messages quoting a broker
      // URL, a message string) are censored here, in fields, child bindings, errors and the message itself.
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => scrubDeep(bindings) as pino.Bindings,
        log: (object) => scrubDeep(object) as Record<string, unknown>,
      },
      serializers: { err: serializeError },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubCredentials(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
  // pino applies no formatter to a child's bindings; children inherit this `child` through their prototype.
  const child = logger.child;
  const scrubbingChild = function (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return Reflect.apply(child, this, [scrubDeep(bindings), options]) as Logger;
  };
  logger.child = scrubbingChild as unknown as Logger['child'];
  return logger;
}

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return scrubDeep(err);
  return Object.fromEntries(Object.entries(pino.stdSerializers.err(err)).map(([k, v]) => [k, scrubDeep(v)]));
}
