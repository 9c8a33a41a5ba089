import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger';
import { ensureLibraries, RedisFunctionsMissingError } from './script';

/** How often the probe writes; well inside an orchestrator's readiness period. */
export const WRITE_PROBE_INTERVAL_MS = 2000;

/**
 * Whether Redis takes writes now, for `/readyz`: one tiny `SET` with a short TTL at every interval. A connected
 * client alone says nothing of it: a Redis out of memory under `noeviction` (OOM), a replica left behind by a
 * failover (READONLY), a failed background save (MISCONF) or too few replicas (NOREPLICAS) all answer reads
 * while every effect, and every `POST /orders`, fails. Reading the stores' own failures would leave an idle
 * service ready, and an unready one, taken out of its Service, would never see a write succeed again.
 *
 * Every effect is a Redis function (script.ts), so a Redis without this process's libraries refuses them all as
 * surely: each probe first checks they are there (one `FCALL_RO` a library), loading the missing ones where this
 * user may. A service user may not: the probe then logs, once, the one line naming the operator step, and the
 * service stays unready until the libraries appear (no restart needed).
 */
export class WriteProbe {
  private accepting = false;
  private timer?: NodeJS.Timeout;
  private running = false;
  private missingReported = false;

  /** @param key A key of the service's own (shared/redis/key-layout.ts), written with a TTL of a few intervals. */
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly log: Logger,
    private readonly intervalMs = WRITE_PROBE_INTERVAL_MS,
  ) {}

  /** False until the first write succeeded, and after any write failed, until one succeeds again. */
  get ok(): boolean {
    return this.accepting;
  }

  start(): void {
    // probe() never rejects.
    this.probe().catch(() => undefined);
    this.timer = setInterval(() => this.probe().catch(() => undefined), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One write; never rejects. */
  async probe(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const loaded = await ensureLibraries(this.redis);
      if (loaded.length > 0) this.log.info({ libraries: loaded }, 'loaded Redis functions');
      this.missingReported = false;
      await this.redis.set(this.key, Date.now(), 'PX', this.intervalMs * 3);
      if (!this.accepting) this.log.info('redis accepts writes');
      this.accepting = true;
    } catch (error) {
      if (error instanceof RedisFunctionsMissingError) {
        if (!this.missingReported) this.log.error(error.message);
        this.missingReported = true;
      } else if (this.accepting) this.log.warn({ err: (error as Error).message }, 'redis refuses writes; not ready');
      this.accepting = false;
    } finally {
      this.running = false;
    }
  }
}
