import { EnvError, makeValidator } from 'envalid';

/**
 * `AMQP_URL`: one URL, or several separated by commas (the nodes of one cluster; the client tries them in turn).
 * Every URL must name the same vhost: the fleet's exchange and queues live in one vhost, whichever node serves it.
 */
export const amqpUrlList = makeValidator<string[]>((input) => {
  const urls = input
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new EnvError('expected one or more amqp:// URLs separated by commas');
  const vhosts = urls.map((url) => vhostOf(url));
  const other = vhosts.findIndex((v) => v !== vhosts[0]);
  if (other > 0)
    throw new EnvError(`every URL must name the same vhost, got "${vhosts[0]}" in the first and "${vhosts[other]}" in URL ${other + 1}`);
  return urls;
});

/** The vhost an AMQP URL names: its path without the leading slash, decoded; none is the default vhost `/`. */
export function vhostOf(input: string): string {
  const url = parseUrl(input);
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') throw new EnvError(`expected amqp:// or amqps://, got ${url.protocol}//`);
  const path = url.pathname.replace(/^\//, '');
  return path === '' ? '/' : decodeURIComponent(path);
}

/** `REDIS_SENTINELS`: `host:port` pairs separated by commas; empty means no Sentinel (REDIS_URL names Redis itself). */
export const hostPortList = makeValidator<{ host: string; port: number }[]>((input) => {
  if (input.trim() === '') return [];
  return input.split(',').map((part) => {
    const match = /^\s*([^\s:,]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(part);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new EnvError(`expected host:port pairs separated by commas, got "${part.trim()}"`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
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
