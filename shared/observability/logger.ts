import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Fields censored wherever they appear, up to four objects deep: payment tokens, amounts (the contract: no token or
 * amount field is ever logged in full), credentials and secrets never reach a log line, whatever a caller passes in.
 */
const SECRET_FIELDS = new Set([
  'paymentToken',
  'token',
  'password',
  'secret',
  'authorization',
  'cookie',
  'amqpUrl',
  'amqpUrls',
  'redisUrl',
  'totalAmount',
  'amount',
]);
const CENSOR = '[redacted]';
const MAX_DEPTH = 4;

/** `scheme://user:password@` inside any string: the password goes, the user and host stay for the operator. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]+)@/gi;

export function scrubCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_CREDENTIALS, '$1$2:[redacted]@') : text;
}

/**
 * Secret fields censored by name, and URL credentials inside every string, in plain objects and arrays a few
 * levels deep. Copies only what it changes: a usual log line (ids, a status, a reason) passes through untouched,
 * which is what keeps logging off the message path's profile (pino's wildcard `redact` paths cost more than the
 * line itself).
 */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubCredentials(value);
  if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const clean = scrub(value[i], depth + 1);
      if (clean !== value[i]) (copy ??= value.slice())[i] = clean;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const clean = SECRET_FIELDS.has(key) ? CENSOR : scrub(record[key], depth + 1);
    if (clean !== record[key]) (copy ??= { ...record })[key] = clean;
  }
  return copy ?? value;
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
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secret fields and credentials inside free text (error messages quoting a broker URL, a message string)
      // are censored here, in fields, child bindings, errors and the message itself.
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => scrub(bindings) as pino.Bindings,
        log: (object) => scrub(object) as Record<string, unknown>,
      },
      serializers: { err: serializeError },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = scrubCredentials(args[i] as string);
          method.apply(this, args);
        },
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
  // pino applies no formatter to a child's bindings; children inherit this `child` through their prototype.
  const child = logger.child;
  const scrubbingChild = function (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return Reflect.apply(child, this, [scrub(bindings), options]) as Logger;
  };
  logger.child = scrubbingChild as unknown as Logger['child'];
  return logger;
}

function serializeError(err: unknown): unknown {
  return scrub(err instanceof Error ? { ...pino.stdSerializers.err(err) } : err);
}
