/**
 * The plain peer's payment handler: Warren's claim, terms, charge and ledger scripts (plain-calls.ts) in Warren's
 * order, and the sealed card token opened as Warren opens it, so that the same work includes the same decryption.
 */
import { createDecipheriv, randomUUID } from 'node:crypto';
import { calls, claimIdOf, keys } from './plain-calls';
import { outcome, type Consumer, type Incoming, type PlainContext } from './plain-consume-loop';

/**
 * Payment: every delivery under a claim (SET NX with a lease, then the completing script), as Warren's payment
 * queue has it, because the gateway is outside Redis. `OrderPlaced`: the terms script, the simulated gateway's
 * charge script, the ledger's record script, then `PaymentCaptured` with a confirm. `OrderConfirmed`: the ledger's
 * confirm script. The sealed payment token is not opened and the amount not checked (Warren's checks, no Redis
 * work); a claim found taken acks the copy, the first copy finishing the work.
 */
/** `tokenKeys`: the keys that open an OrderPlaced's sealed payment token, by key id. */
export function paymentHandler(ctx: PlainContext, queue: string, tokenKeys: ReadonlyMap<string, Buffer>) {
  const { scripts, prefix, retentionMs } = ctx;
  return async (event: Incoming, c: Consumer): Promise<void> => {
    if (event.eventType !== 'OrderPlaced' && event.eventType !== 'OrderConfirmed') return;
    const claimId = claimIdOf(event);
    const token = randomUUID();
    if ((await ctx.redis.set(keys.claim(prefix, queue, claimId), token, 'PX', ctx.leaseMs, 'NX')) !== 'OK') return;
    const { orderId } = event;
    if (event.eventType === 'OrderPlaced') {
      // The card token is needed to charge: opened as Warren's payment service opens it (AES-256-GCM, the order
      // id as associated data), so that the same work includes the same decryption.
      openSealed(tokenKeys, event.sealedPaymentToken!, orderId);
      const amount = event.totalAmount!;
      const currency = event.currency!;
      const [seen, entry] = (await scripts.run('observeTerms', calls.observeTerms(prefix, retentionMs, orderId, amount, currency))) as [
        number,
        string[],
      ];
      if (seen === -1) throw new Error(`OrderPlaced for ${orderId} has another amount or currency than the first one seen`);
      let paymentId = fieldOf(entry, 'paymentId');
      if (!fieldOf(entry, 'status')) {
        const [stored] = (await scripts.run('charge', calls.charge(prefix, retentionMs, orderId))) as [string, number];
        const charge = JSON.parse(stored) as { status: string; chargeId: string };
        const [, recorded] = (await scripts.run(
          'recordCharge',
          calls.recordCharge(prefix, retentionMs, orderId, amount, currency, charge.chargeId),
        )) as [number, string[]];
        paymentId = fieldOf(recorded, 'paymentId');
      }
      await c.publishConfirmed('payment.captured', outcome('PaymentCaptured', { orderId, amount, currency, paymentId }, event));
    } else {
      await scripts.run('markConfirmed', calls.markConfirmed(prefix, retentionMs, orderId));
    }
    await scripts.run('completeClaim', calls.completeClaim(prefix, retentionMs, queue, claimId, token));
  };
}

/** `v1.<kid>.<iv>.<ciphertext>.<tag>`, base64url parts; throws when the token is not authentic. */
function openSealed(keys: ReadonlyMap<string, Buffer>, sealed: string, orderId: string): string {
  const [, kid = '', iv = '', ciphertext = '', tag = ''] = sealed.split('.');
  const key = keys.get(kid);
  if (!key) throw new Error(`unknown token key ${kid}`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(orderId, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

function fieldOf(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}
