import type { Message } from 'amqplib';
import { describeDeadLetter, type DeadLetterInfo } from './dead-letter-info';
import type { Move } from './dlq-session';
import { redactDeep } from './redact';
import { replayProperties, requeueProperties } from './replay-properties';

/** `{ all: true }` replays every message; `{ id }` the first one with that message id. */
export type ReplaySelection = { all: true } | { id: string };

export interface ReplayEntry {
  /** 1 for the head of the DLQ. */
  position: number;
  messageId: string;
  eventType?: string;
  orderId?: string;
  reasonCode?: string;
  /** The failing queue it goes back to (or would, on a dry run). */
  to: string;
}

export interface SkippedEntry {
  position: number;
  messageId: string;
  why: string;
}

export interface ReplayPlan {
  /** One move per message, in DLQ order: to the failing queue, or back to the DLQ's tail. */
  moves: Move[];
  replayed: ReplayEntry[];
  /** Selected messages that stay, because they name no failing queue or one this DLQ does not serve. */
  skipped: SkippedEntry[];
  /** With `{ id }`: no message had that id. */
  notFound: boolean;
}

/** Where a replay that walks a DLQ page by page has got to; {@link planReplay} advances it. */
export interface ReplayState {
  /** Messages of the DLQ planned so far: the position of the page's first message is this + 1. */
  position: number;
  /** A message with the selected id was met (only the first one is replayed). */
  matched: boolean;
}

export interface ReplayTarget {
  dlq: string;
  /** The consumer queue the DLQ serves: the only queue a replay from it may go to. */
  source: string;
}

/**
 * Decides, for every message of a page of a DLQ in order, where it goes. Pure but for `state`, which carries the
 * position and the `--id` match from one page to the next: a dry run uses the same plan, moving nothing.
 */
export function planReplay(
  messages: readonly Message[],
  { dlq, source }: ReplayTarget,
  select: ReplaySelection,
  dryRun: boolean,
  now: Date,
  state: ReplayState = { position: 0, matched: false },
): ReplayPlan {
  const plan: ReplayPlan = { moves: [], replayed: [], skipped: [], notFound: false };
  for (const msg of messages) {
    const position = ++state.position;
    const info = describeDeadLetter(msg);
    const keep: Move = { queue: dlq, properties: requeueProperties(msg) };
    const wanted = 'all' in select || (!state.matched && info.messageId === select.id);
    if (!wanted) {
      plan.moves.push(keep);
      continue;
    }
    state.matched = true;
    const why = whyNotReplayable(info, dlq, source);
    if (why) {
      plan.skipped.push({ position, messageId: info.messageId, why });
      plan.moves.push(keep);
      continue;
    }
    const { messageId, eventType, orderId, reasonCode } = info;
    plan.replayed.push(redactDeep({ position, messageId, eventType, orderId, reasonCode, to: source }));
    plan.moves.push(dryRun ? keep : { queue: source, properties: replayProperties(msg, now) });
  }
  plan.notFound = 'id' in select && !state.matched;
  return plan;
}

/** A replay goes back to the queue that failed the message, and a DLQ only ever holds what its own queue failed. */
function whyNotReplayable(info: DeadLetterInfo, dlq: string, source: string): string | undefined {
  const { failingQueue, truncatedBody } = info;
  if (failingQueue === undefined) return 'no failing queue recorded (no x-warren-queue or x-death header)';
  if (failingQueue !== source) return `its failing queue ${failingQueue} is not the one ${dlq} serves`;
  // Its consumer kept only the head of an oversized body: a replay would deliver a body nobody ever sent.
  if (truncatedBody)
    return `its body was truncated on dead-lettering (${truncatedBody.originalBytes} bytes, sha256 ${truncatedBody.sha256})`;
  return undefined;
}
