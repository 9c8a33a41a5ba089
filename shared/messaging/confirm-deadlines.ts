export interface Watched {
  deadline: number;
  fail: (error: Error) => void;
}

/**
 * The confirm deadlines of direct publishes: one timer, armed for the earliest deadline, instead of a timer per
 * publish. A re-published message keeps its first deadline, so entries are not in deadline order: an expiry walks
 * them all (at most the publish buffer, and only when one is due).
 */
export class ConfirmDeadlines {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  watch(deadline: number, fail: (error: Error) => void): Watched {
    const entry = { deadline, fail };
    this.watched.add(entry);
    if (deadline < this.armedFor) this.arm(deadline);
    return entry;
  }

  /** False when the entry has already timed out (its confirm came too late and must be ignored). */
  settle(entry: Watched): boolean {
    if (!this.watched.delete(entry)) return false;
    if (this.watched.size === 0) this.disarm();
    return true;
  }

  private arm(deadline: number): void {
    this.disarm();
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - Date.now()));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private expire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.watched) {
      if (entry.deadline > now) next = Math.min(next, entry.deadline);
      else {
        this.watched.delete(entry);
        entry.fail(new Error('timeout waiting for a confirm'));
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }
}
