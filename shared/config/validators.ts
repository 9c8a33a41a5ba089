import { EnvError, makeValidator } from 'envalid';

/** An AMQP(S) URL; the vhost in its path holds every exchange and queue. */
export const amqpUrl = makeValidator<string>((input) => {
  const url = parseUrl(input);
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') throw new EnvError(`expected amqp:// or amqps://, got ${url.protocol}//`);
  return input;
});

export const redisUrl = makeValidator<string>((input) => {
  const url = parseUrl(input);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new EnvError(`expected redis:// or rediss://, got ${url.protocol}//`);
  return input;
});

/** A TCP port; 0 is refused because the fleet's ports are published to other processes. */
export const tcpPort = makeValidator<number>((input) => {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new EnvError(`expected a port from 1 to 65535, got "${input}"`);
  return n;
});

export const positiveInt = makeValidator<number>((input) => {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 1) throw new EnvError(`expected a whole number of at least 1, got "${input}"`);
  return n;
});

export const nonNegativeInt = makeValidator<number>((input) => {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 0) throw new EnvError(`expected a whole number of at least 0, got "${input}"`);
  return n;
});

export const ratio = makeValidator<number>((input) => {
  const n = Number(input);
  if (input.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new EnvError(`expected a number from 0 to 1, got "${input}"`);
  return n;
});

/** Comma-separated delays in milliseconds, one delayed-retry tier each; empty means no retries. */
export const delayList = makeValidator<number[]>((input) => {
  if (input.trim() === '') return [];
  return input.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1) throw new EnvError(`expected comma-separated delays in ms (each at least 1), got "${input}"`);
    return n;
  });
});

function parseUrl(input: string): URL {
  try {
    return new URL(input);
  } catch {
    throw new EnvError(`not a URL: "${redactUrl(input)}"`);
  }
}

/** Hides the password of a URL so that config errors and logs never show it. */
export function redactUrl(input: string): string {
  return input.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
