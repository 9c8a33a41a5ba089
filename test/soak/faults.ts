import { SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { rabbitmqctl } from '../helpers/broker';
import { sleep, waitFor } from '../helpers/wait';
import type { SoakEnvironment } from './environment';

/** The faults, in the order they take turns. */
export const FAULT_KINDS = ['broker restart', 'worker killed', 'Redis away', 'connections dropped'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The workers `worker killed` takes in turn. */
export const VICTIMS: readonly ServiceName[] = ['order', 'inventory', 'payment'];

/** How long Redis stays away. */
export const REDIS_AWAY_MS = 5000;

/** How long the fleet may take to answer /readyz again after a fault before the soak calls it unrecovered. */
const READY_TIMEOUT_MS = 180_000;

export interface FaultRecord {
  n: number;
  kind: FaultKind;
  /** What exactly was done. */
  detail: string;
  /** Seconds since the soak started. */
  atS: number;
  /** How long the fault itself took (the restart, the outage, the respawn). */
  tookS: number;
  /** From the fault's start until every service answered /readyz 200 again (undefined: it did not). */
  readyAfterS?: number;
  /** The killed worker, for `worker killed`. */
  victim?: ServiceName;
  /** The last answer that was not ready, before every service was (e.g. `payment: 503 consumers`, `order: no answer in 2 s`). */
  lastNotReady?: string;
  error?: string;
}

/**
 * The soak's faults, one kind after another: `docker restart` of its own broker container, kill -9 of one worker
 * (order, inventory, payment in turn) then a new process, its own Redis shut down for 5 s then started on its
 * data, and `rabbitmqctl close_all_connections` on the fleet's vhost. After each, it waits until every service
 * is ready again and says how long that took; nothing else is done to help the fleet recover.
 */
export class Faults {
  private count = 0;
  private kills = 0;
  readonly records: FaultRecord[] = [];

  constructor(
    private readonly env: SoakEnvironment,
    private readonly t0: number,
  ) {}

  /** The kind the next fault will be. */
  get nextKind(): FaultKind {
    return FAULT_KINDS[this.count % FAULT_KINDS.length]!;
  }

  async inject(): Promise<FaultRecord> {
    const kind = this.nextKind;
    const record: FaultRecord = { n: ++this.count, kind, detail: '', atS: this.seconds(), tookS: 0 };
    const started = Date.now();
    const fleet = this.env.fleet!;
    try {
      switch (kind) {
        case 'broker restart':
          record.detail = `docker restart ${this.env.broker.container}`;
          for (const name of SERVICE_NAMES) this.env.mark(name, `fault ${record.n}: ${record.detail}`);
          await this.env.broker.restartContainer();
          break;
        case 'worker killed': {
          const victim = VICTIMS[this.kills++ % VICTIMS.length]!;
          record.victim = victim;
          record.detail = `kill -9 ${victim} (pid ${fleet.pid(victim)}), then a new process`;
          this.env.mark(victim, `fault ${record.n}: kill -9`);
          await fleet.kill(victim);
          await fleet.spawn(victim);
          this.env.mark(victim, `fault ${record.n}: new process ${fleet.pid(victim)}`);
          break;
        }
        case 'Redis away':
          record.detail = `redis-server shut down, started again on its AOF after ${REDIS_AWAY_MS / 1000} s`;
          for (const name of SERVICE_NAMES) this.env.mark(name, `fault ${record.n}: Redis shut down`);
          await this.env.redis.down();
          await sleep(REDIS_AWAY_MS);
          await this.env.redisUp();
          for (const name of SERVICE_NAMES) this.env.mark(name, `fault ${record.n}: Redis up again`);
          break;
        case 'connections dropped':
          record.detail = `rabbitmqctl close_all_connections --vhost ${fleet.vhost}`;
          for (const name of SERVICE_NAMES) this.env.mark(name, `fault ${record.n}: ${record.detail}`);
          await rabbitmqctl('close_all_connections', '--vhost', fleet.vhost, `soak fault ${record.n}`);
          break;
      }
      record.tookS = (Date.now() - started) / 1000;
      // Readiness can lag the fault by a moment (a dropped connection is noticed asynchronously): let it show.
      await sleep(1000);
      await waitFor('every service ready', () => this.allReady(record), READY_TIMEOUT_MS, 250);
      record.readyAfterS = (Date.now() - started) / 1000;
    } catch (error) {
      record.tookS ||= (Date.now() - started) / 1000;
      record.error = (error as Error).message;
    }
    this.records.push(record);
    return record;
  }

  private async allReady(record: FaultRecord): Promise<boolean> {
    const fleet = this.env.fleet!;
    for (const name of SERVICE_NAMES) {
      // A service that accepts the connection and never answers must not hold the soak: 2 s, then not ready.
      const notReady = await fetch(`${fleet.urls.ops[name]}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        async (r) => (r.ok ? undefined : `${r.status} ${failingChecks(await r.text())}`),
        (error: Error) => (error.name === 'TimeoutError' ? 'no answer in 2 s' : error.message),
      );
      if (notReady !== undefined) {
        record.lastNotReady = `${name}: ${notReady}`;
        return false;
      }
    }
    return true;
  }

  private seconds(): number {
    return Math.round((Date.now() - this.t0) / 100) / 10;
  }
}

/** The names of the failing checks in a /readyz answer (`{checks: {redis: false, ...}}`), or the body itself. */
function failingChecks(body: string): string {
  try {
    const checks = (JSON.parse(body) as { checks?: Record<string, boolean> }).checks ?? {};
    const failing = Object.entries(checks).filter(([, ok]) => !ok);
    return failing.length > 0 ? failing.map(([check]) => check).join(', ') : body.slice(0, 120);
  } catch {
    return body.slice(0, 120);
  }
}
