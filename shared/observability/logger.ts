import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear: payment tokens, credentials and secrets never reach a log line,
 * whatever a caller passes in.
 */
export const REDACT_PATHS = [
  'paymentToken', '*.paymentToken', '*.*.paymentToken', 'token', '*.token',
  'password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'amqpUrl', 'redisUrl', '*.amqpUrl', '*.redisUrl',
];

export interface LoggerOptions {
  service: string;
  level: string;
  /** Where lines go; standard output by default. Tests pass a stream to inspect what was written. */
  destination?: pino.DestinationStream;
}

/** The root logger of a service; handlers and modules take `child()` loggers with their own fields. */
export function createLogger({ service, level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
