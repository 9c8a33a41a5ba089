import type { DlqDepth, ReplayResult, ShownMessage, ShowResult } from '../dlq/dlq-admin';
import { printable as p } from './printable';

/**
 * Human-readable output of the `dlq` commands; `--json` prints the results themselves instead. Every value is
 * passed through `printable`: most come from the messages, and a message is whatever its publisher wrote.
 */

export function formatList(depths: readonly DlqDepth[]): string {
  const rows = [['DLQ', 'DEPTH', 'REPLAYS TO'], ...depths.map((d) => [p(d.dlq), d.exists ? String(d.depth) : 'missing', p(d.queue)])];
  const width = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map(([dlq, depth, queue]) => `${dlq!.padEnd(width[0]!)}  ${depth!.padStart(width[1]!)}  ${queue}`).join('\n') + '\n';
}

export function formatShow(result: ShowResult): string {
  const { dlq, depth, notRead, pageFull, messages } = result;
  const total = `${p(dlq)}: ${depth} message${depth === 1 ? '' : 's'}`;
  // What was not read is said, never left to be mistaken for the whole DLQ.
  const why = pageFull ? ` (the page's bound on ${pageFull === 'bytes' ? 'bytes of bodies' : 'messages'} held stopped the read)` : '';
  const head = notRead > 0 ? `${total}, showing the first ${messages.length}; ${notRead} not read${why}` : total;
  return [head, ...messages.map(formatMessage)].join('\n\n') + '\n';
}

function formatMessage(m: ShownMessage): string {
  const lines: [string, string | number | undefined][] = [
    ['event type', m.eventType],
    ['order id', m.orderId],
    ['correlation id', m.correlationId],
    ['reason', m.reason],
    ['reason code', m.reasonCode],
    ['error class', m.errorClass],
    ['attempts', m.attempts],
    ['first failure', m.firstFailureAt],
    ['last failure', m.lastFailureAt],
    [
      'dead-lettered',
      [
        m.deadLetteredAt,
        `by ${m.source === 'broker' ? 'the broker' : m.source === 'consumer' ? `the ${m.service ?? ''} consumer` : 'an unknown party'}`,
      ]
        .filter(Boolean)
        .join(' '),
    ],
    ['failing queue', m.failingQueue],
    ['origin', m.originalRoutingKey ? `${m.originalExchange || '(default exchange)'} / ${m.originalRoutingKey}` : undefined],
    ['replays so far', m.replayCount],
    [
      'original body',
      m.truncatedBody &&
        `${m.truncatedBody.originalBytes} bytes, sha256 ${m.truncatedBody.sha256}; truncated on dead-lettering, not replayable`,
    ],
    ['body', m.body],
  ];
  const id = `#${m.position}  ${p(m.messageId)}${m.derivedId ? '  (no message id; derived from the body)' : ''}`;
  return [id, ...lines.filter(([, v]) => v !== undefined).map(([k, v]) => `    ${k.padEnd(15)} ${p(v)}`)].join('\n');
}

export function formatReplay(result: ReplayResult): string {
  const { dlq, dryRun, replayed, skipped, remaining } = result;
  const verb = dryRun ? 'would replay' : 'replayed';
  const lines = [`${dryRun ? 'dry run: ' : ''}${verb} ${replayed.length} message${replayed.length === 1 ? '' : 's'} from ${p(dlq)}`];
  for (const r of replayed) {
    lines.push(
      `  #${r.position}  ${p(r.messageId)}  ${p(r.eventType ?? '-')}  order ${p(r.orderId ?? '-')}  (${p(r.reasonCode ?? 'no reason code')})  -> ${p(r.to)}`,
    );
  }
  for (const s of skipped) lines.push(`  skipped #${s.position}  ${p(s.messageId)}: ${p(s.why)}`);
  lines.push(dryRun ? `nothing was changed; ${remaining} messages in ${p(dlq)}` : `${remaining} messages left in ${p(dlq)}`);
  return lines.join('\n') + '\n';
}

export function formatPurge({ dlq, purged }: { dlq: string; purged: number }): string {
  return `purged ${purged} message${purged === 1 ? '' : 's'} from ${p(dlq)}\n`;
}
