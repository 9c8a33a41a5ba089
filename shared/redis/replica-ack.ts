import type { Redis } from 'ioredis';
import { TransientError } from '../errors/errors';

/** A write that no replica acknowledged in time: it may not survive a failover, so the work is retried. */
export class ReplicaAckTimeoutError extends TransientError {
  override readonly name = 'ReplicaAckTimeoutError';
}

export interface ReplicaAckPolicy {
  /** Replicas that must hold a write before it counts. */
  replicas: number;
  /** How long `WAIT` may block the connection; below the client's command timeout. */
  timeoutMs: number;
}

// The policy travels with the client it applies to, so every store that writes through that client (scripts,
// claims, stock) honours it without each being handed a flag; a client without one (a single Redis) pays nothing.
const policies = new WeakMap<Redis, ReplicaAckPolicy>();

export function requireReplicaAck(redis: Redis, policy: ReplicaAckPolicy): void {
  policies.set(redis, policy);
}

/** True when writes through this client must wait for a replica (see {@link awaitReplicaAck}). */
export function needsReplicaAck(redis: Redis): boolean {
  return policies.has(redis);
}

/**
 * Waits until a replica holds every write this client has made so far (Redis `WAIT` counts the connection's
 * whole replication offset), or throws {@link ReplicaAckTimeoutError}. Replication is asynchronous: without this,
 * a master that dies after answering takes its last writes with it, and Sentinel promotes a replica that never
 * saw them, so a done marker, a ledger entry or a reservation acknowledged upstream would vanish.
 */
export async function awaitReplicaAck(redis: Redis): Promise<void> {
  const policy = policies.get(redis);
  if (!policy) return;
  const acked = await redis.wait(policy.replicas, policy.timeoutMs);
  if (acked < policy.replicas)
    throw new ReplicaAckTimeoutError(`${acked} of ${policy.replicas} Redis replicas acknowledged the write within ${policy.timeoutMs} ms`);
}
