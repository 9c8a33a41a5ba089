import assert from 'node:assert/strict';
import path from 'node:path';
import { waitFor } from '../helpers/wait';
import type { Kube } from './cluster';

const MANIFEST = path.join(__dirname, 'fixtures/api-prober.yaml');

/** Per lane (`fresh`: a new connection per request, `kept`: kept-alive ones): answer (status or error code) → count. */
export interface ProberAnswers {
  fresh: Record<string, number>;
  kept: Record<string, number>;
}

/**
 * A client of the order API inside the cluster (fixtures/api-prober.yaml), calling it through its Service with no
 * port-forward in between: what a rolling upgrade does to the API's callers. Unauthenticated, every answer of a
 * working API is 401.
 */
export class ApiProber {
  private constructor(private readonly kube: Kube) {}

  /** Starts it and waits for its first answers. */
  static async start(kube: Kube): Promise<ApiProber> {
    const prober = new ApiProber(kube);
    await kube.kubectl(['apply', '-f', MANIFEST]);
    await waitFor(
      'the in-cluster API prober answered',
      async () => ((await prober.answers()).fresh['401'] ?? 0) > 0 || undefined,
      90_000,
      1000,
    );
    return prober;
  }

  /** What it got so far (it prints its counts every second). */
  async answers(): Promise<ProberAnswers> {
    const last = (await this.kube.kubectl(['logs', 'api-prober'])).trim().split('\n').pop();
    return { fresh: {}, kept: {}, ...(last ? JSON.parse(last) : {}) };
  }

  /** Stops it; returns what it got. */
  async stop(): Promise<ProberAnswers> {
    const answers = await this.answers();
    await this.kube.kubectl(['delete', '-f', MANIFEST, '--wait=false']);
    return answers;
  }

  /**
   * The chart's part (surge first, readiness gating, preStop while endpoints forget the old pod) shows in the fresh
   * lane; the kept lane also shows the API's drain (kept-alive connections stay on their pod until it closes them).
   * On a quiet machine both lanes see only 401s. When the pods starve for CPU (a machine busy with other work),
   * requests time out and an endpoint can outlive the 5 s preStop: a few per cent fail. More than 10 % is an outage
   * of seconds, not a graceful roll.
   */
  static assertGraceful(answers: ProberAnswers): void {
    for (const lane of ['fresh', 'kept'] as const) {
      const counts = answers[lane];
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const failed = total - (counts['401'] ?? 0);
      assert.ok(failed <= total / 10, `${lane} connections through the Service: ${failed} of ${total} failed while the pods rolled`);
    }
  }
}
