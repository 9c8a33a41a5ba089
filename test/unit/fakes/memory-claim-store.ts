import { randomUUID } from 'node:crypto';
import type { ClaimResult, ClaimStore } from '../../../shared/idempotency/claims';

type Entry = { value: string; expiresAt: number };

/**
 * ClaimStore's contract in memory: a claim is a lease that expires after `leaseMs` unless completed; a done
 * marker answers `done`; complete and release act only for the token that holds the claim. `calls` records what
 * the middleware asked, and `failNext` makes the next call of a method throw (Redis down).
 */
export class MemoryClaimStore implements Pick<ClaimStore, 'claim' | 'complete' | 'release' | 'deferLimitMs'> {
  readonly calls: string[] = [];
  readonly failNext = new Set<'claim' | 'complete' | 'release'>();
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly leaseMs = 60_000) {}

  get deferLimitMs(): number {
    return this.leaseMs;
  }

  /**
   * The seam: idempotencyMiddleware takes a ClaimStore, whose private Redis fields make it nominal; it calls only
   * the three methods implemented here (checked by the `implements` clause).
   */
  asClaimStore(): ClaimStore {
    return this as unknown as ClaimStore;
  }

  async claim(scope: string, id: string): Promise<ClaimResult> {
    this.record('claim', scope, id);
    const entry = this.live(scope, id);
    if (entry) return entry.value === 'done' ? { kind: 'done' } : { kind: 'held', remainingMs: entry.expiresAt - Date.now() };
    const token = randomUUID();
    this.entries.set(`${scope}:${id}`, { value: token, expiresAt: Date.now() + this.leaseMs });
    return { kind: 'claimed', token };
  }

  async complete(scope: string, id: string, token: string): Promise<void> {
    this.record('complete', scope, id);
    if (this.live(scope, id)?.value === token) this.entries.set(`${scope}:${id}`, { value: 'done', expiresAt: Infinity });
  }

  async release(scope: string, id: string, token: string): Promise<void> {
    this.record('release', scope, id);
    if (this.live(scope, id)?.value === token) this.entries.delete(`${scope}:${id}`);
  }

  private live(scope: string, id: string): Entry | undefined {
    const entry = this.entries.get(`${scope}:${id}`);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  }

  private record(method: 'claim' | 'complete' | 'release', scope: string, id: string): void {
    this.calls.push(`${method} ${scope} ${id}`);
    if (this.failNext.delete(method)) throw new Error(`redis down during ${method}`);
  }
}
