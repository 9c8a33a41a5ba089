import type { KillSwitchSettings } from '../config/config';
import type { Logger } from '../observability/logger';

export type { KillSwitchSettings };

/** What a delivery's processing came to, as the kill switch counts it. */
/** `deferred`: the work waits for another worker's claim; no sign of a failing downstream, so never counted. */
export type DeliveryOutcome = 'success' | 'transient' | 'permanent' | 'deferred';

/** The consumer the switch controls. */
export interface Switchable {
  /** Stops taking deliveries (messages stay in the queue). */
  pause(): Promise<void>;
  /** Takes deliveries again at the full prefetch. */
  resume(): Promise<void>;
  /** Processes one message from the queue; `empty` when there was none. */
  probe(): Promise<DeliveryOutcome | 'empty'>;
}

/**
 * A circuit breaker around one consumer. While a downstream fails, every delivery burns one of its retry tiers and
 * ends in the DLQ once they are spent; after `threshold` consecutive transient failures within `windowMs` the
 * switch pauses the consumer instead, so waiting messages keep their attempts. After `cooldownMs` it probes with one
 * message: a success (or an empty queue) resumes consumption, a transient failure starts another cool-down.
 * Permanent failures say nothing about the downstream: they neither count nor reset the run.
 */
export class KillSwitch {
  private state: 'closed' | 'open' | 'probing' = 'closed';
  /** Times of the current run of consecutive transient failures. */
  private failures: number[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly settings: KillSwitchSettings,
    private readonly target: Switchable,
    private readonly log: Logger,
    private readonly paused: { set(value: number): void },
  ) {
    paused.set(0);
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** Counts the outcome of a delivery taken while consuming; outcomes that finish during a pause are ignored. */
  record(outcome: DeliveryOutcome, now = Date.now()): void {
    if (this.state !== 'closed' || outcome === 'permanent' || outcome === 'deferred' || this.stopped) return;
    if (outcome === 'success') {
      this.failures = [];
      return;
    }
    this.failures.push(now);
    this.failures = this.failures.filter((at) => at > now - this.settings.windowMs);
    if (this.failures.length >= this.settings.threshold) this.trip();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private trip(): void {
    this.state = 'open';
    this.failures = [];
    this.paused.set(1);
    this.log.warn({ threshold: this.settings.threshold, cooldownMs: this.settings.cooldownMs }, 'kill switch tripped; consumer paused');
    this.target.pause().catch((err: Error) => this.log.error({ err: err.message }, 'kill switch could not pause the consumer'));
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.probe().catch((err: Error) => this.log.error({ err: err.message }, 'kill switch probe failed'));
    }, this.settings.cooldownMs);
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    this.state = 'probing';
    const outcome = await this.target.probe().catch((err: Error) => {
      this.log.warn({ err: err.message }, 'kill switch probe could not run');
      return 'transient' as const;
    });
    if (this.stopped) return;
    if (outcome === 'transient') {
      this.state = 'open';
      this.log.warn('kill switch probe failed; staying paused');
      this.schedule();
      return;
    }
    this.state = 'closed';
    this.paused.set(0);
    this.log.info({ probe: outcome }, 'kill switch probe passed; consumer resumed');
    await this.target.resume();
  }
}
