import { randomUUID } from 'node:crypto';
import { http, orderRequest } from '../helpers/api';
import { sleep } from '../helpers/wait';

export interface RecoveryProbe {
  /** Ids of the probe orders the API accepted: they count in the invariants like any other order. */
  readonly accepted: string[];
  /** Stops placing probes once one has completed after `until`; resolves to the longest stall in ms. */
  finish(until: number): Promise<number>;
}

/**
 * Measures how long orders stop completing during a fault: from `since` (the fault), a probe order is placed every
 * `everyMs` (retried with its Idempotency-Key on 503 or a dropped connection, as a client would) and polled until it
 * ends. The result is the longest interval, from `since`, in which no probe ended: the time until orders complete
 * again after a single fault, the worst of several for a rolling restart.
 */
export function recoveryProbe(api: string, productId: string, since: number, everyMs = 1000): RecoveryProbe {
  const accepted: string[] = [];
  const completions: number[] = [];
  let stopAfter = Number.POSITIVE_INFINITY;
  const inFlight: Promise<void>[] = [];

  const one = async (i: number) => {
    const key = randomUUID();
    const body = orderRequest({ customerId: `probe-${i}`, items: [{ productId, quantity: 1 }], totalAmount: 1 });
    let orderId: string | undefined;
    while (!orderId) {
      const r = await http('POST', `${api}/orders`, body, { 'idempotency-key': key }).catch(() => ({ status: 0, body: undefined }));
      if (r.status === 202) orderId = r.body.orderId as string;
      else await sleep(200);
    }
    accepted.push(orderId);
    for (;;) {
      const r = await http('GET', `${api}/orders/${orderId}`).catch(() => ({ status: 0, body: undefined }));
      if (r.status === 200 && r.body.status !== 'PENDING') {
        completions.push(Date.now());
        return;
      }
      await sleep(100);
    }
  };

  const placing = (async () => {
    for (let i = 0; ; i++) {
      if (completions.some((t) => t > stopAfter)) return;
      inFlight.push(one(i));
      await sleep(everyMs);
    }
  })();

  return {
    accepted,
    async finish(until: number) {
      stopAfter = until;
      await placing;
      await Promise.all(inFlight);
      const times = [since, ...completions.filter((t) => t > since).sort((a, b) => a - b)];
      let longest = 0;
      for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
      return longest;
    },
  };
}
