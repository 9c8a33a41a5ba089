/** The named queue is not one of the fleet's DLQs: a usage error, nothing was touched. */
export class UnknownDlqError extends Error {
  override readonly name = 'UnknownDlqError';
  constructor(
    readonly dlq: string,
    known: readonly string[],
  ) {
    super(`unknown DLQ ${JSON.stringify(dlq)}; known DLQs: ${known.join(', ')}`);
  }
}

/** The DLQ is one of the fleet's but does not exist on the broker (its service never started in this vhost). */
export class DlqMissingError extends Error {
  override readonly name = 'DlqMissingError';
  constructor(readonly dlq: string) {
    super(`queue ${dlq} does not exist on the broker (has its service ever started against this vhost?)`);
  }
}

/** A show or replay could not put every message where it belonged; nothing was lost, see the message. */
export class DlqMoveError extends Error {
  override readonly name = 'DlqMoveError';
  constructor(dlq: string, moved: number, total: number, cause: Error) {
    super(
      `stopped after ${moved} of ${total} messages of ${dlq}: ${cause.message}; ` +
        'the messages not yet handled are still in the DLQ (unacked ones are requeued by the broker)',
    );
  }
}
