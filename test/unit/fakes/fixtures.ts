import { Writable } from 'node:stream';
import { createEvent } from '../../../shared/events/codec';
import type { AnyEvent } from '../../../shared/events/catalog';
import type { MessageContext } from '../../../shared/messaging/context';
import { createLogger, type Logger } from '../../../shared/observability/logger';
import { createMetrics, type Metrics } from '../../../shared/observability/metrics';
// Registers the fleet's events (each service's events.ts): the fakes build and decode them.
import '../../../workers/registry';

/** A logger that writes nowhere. */
export const quietLog = createLogger({
  service: 'test',
  level: 'silent',
  destination: new Writable({ write: (_chunk, _enc, done) => done() }),
});

/** A logger that keeps its lines (as pino wrote them: `level`, `msg` and the fields) for the test to read. */
export function capturedLog(level = 'debug'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ service: 'test', level, destination }), lines };
}

export const testMetrics = (): Metrics => createMetrics('test');

/** The value of one counter (or gauge) child, 0 when it was never touched. */
export async function valueOf(
  metric: { get(): Promise<{ values: { labels: object; value: number }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l));
  return match?.value ?? 0;
}

/** A valid event of a type every spec can use. */
export function paymentDeclined(orderId = 'o-1'): AnyEvent {
  return createEvent('PaymentDeclined', { orderId, reason: 'CARD_DECLINED' }, { correlationId: orderId }) as AnyEvent;
}

/** A handler's context for middleware run on its own (through `compose`), without a consumer. */
export function contextFor(event: AnyEvent, queue = 'q'): MessageContext {
  return {
    event,
    queue,
    attempt: 1,
    redelivered: false,
    deliveryCount: 0,
    log: quietLog,
    publish: async () => {
      throw new Error('contextFor: publish is not faked');
    },
  };
}

export const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every millisecond until it holds; fails naming `what` after `withinMs`. */
export async function until(what: string, check: () => boolean, withinMs = 1000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}
