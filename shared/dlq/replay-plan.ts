import type { Message } from 'amqplib';
import { describeDeadLetter } from './dead-letter-info';
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

export interface ReplayTarget {
  dlq: string;
  /** The consumer queue the DLQ serves: the only queue a replay from it may go to. */
  source: string;
}

/** Decides, for every message of a DLQ in order, where it goes. Pure: a dry run uses the same plan, moving nothing. */
export function planReplay(
  messages: readonly Message[],
  { dlq, source }: ReplayTarget,
  select: ReplaySelection,
  dryRun: boolean,
  now: Date,
): ReplayPlan {
  const plan: ReplayPlan = { moves: [], replayed: [], skipped: [], notFound: false };
  let matched = false;
  for (const [i, msg] of messages.entries()) {
    const info = describeDeadLetter(msg);
    const keep: Move = { queue: dlq, properties: requeueProperties(msg) };
    const wanted = 'all' in select || (!matched && info.messageId === select.id);
    if (!wanted) {
      plan.moves.push(keep);
      continue;
    }
    matched = true;
    const why = whyNotReplayable(info.failingQueue, dlq, source);
    if (why) {
      plan.skipped.push({ position: i + 1, messageId: info.messageId, why });
      plan.moves.push(keep);
      continue;
    }
    const { messageId, eventType, orderId, reasonCode } = info;
    plan.replayed.push(redactDeep({ position: i + 1, messageId, eventType, orderId, reasonCode, to: source }));
    plan.moves.push(dryRun ? keep : { queue: source, properties: replayProperties(msg, now) });
  }
  plan.notFound = 'id' in select && !matched;
  return plan;
}

/** A replay goes back to the queue that failed the message, and a DLQ only ever holds what its own queue failed. */
function whyNotReplayable(failingQueue: string | undefined, dlq: string, source: string): string | undefined {
  if (failingQueue === undefined) return 'no failing queue recorded (no x-warren-queue or x-death header)';
  if (failingQueue !== source) return `its failing queue ${failingQueue} is not the one ${dlq} serves`;
  return undefined;
}
