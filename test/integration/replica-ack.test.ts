import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { ClaimStore } from '../../shared/idempotency/claims';
import { ReplicaAckTimeoutError, requireReplicaAck } from '../../shared/redis/replica-ack';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);

/** A redis-server of the test's own in the foreground, so the test can stop (SIGSTOP) or kill (SIGKILL) it. */
async function redisServer(port: number, dir: string, ...extra: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extra], {
    stdio: 'ignore',
  });
  await waitFor(
    `redis on ${port}`,
    async () => (await run('redis-cli', ['-p', String(port), 'ping']).catch(() => ({ stdout: '' }))).stdout.trim() === 'PONG' || undefined,
    10_000,
    50,
  );
  return child;
}

/**
 * Under Sentinel every effect waits until a replica holds it (shared/redis/replica-ack.ts): replication is
 * asynchronous, so an effect the master answered but never passed on would vanish with a failover after its
 * message was acked. Here, a master and a replica of the test's own: an effect is acknowledged only once the replica
 * has it, survives the master's SIGKILL on the replica, and one the replica cannot take is refused as transient.
 */
describe('replica wait: an acknowledged effect is on a replica before it counts (own redis-server pair)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-replica-'));
  let master: ChildProcess;
  let replica: ChildProcess;
  let masterPort: number;
  let replicaPort: number;
  let client: Redis;
  let store: ClaimStore;

  before(async () => {
    masterPort = await freePort();
    replicaPort = await freePort();
    master = await redisServer(masterPort, dir, '--dbfilename', 'master.rdb');
    replica = await redisServer(replicaPort, dir, '--dbfilename', 'replica.rdb', '--replicaof', '127.0.0.1', String(masterPort));
    await waitFor('the replica to sync', async () => {
      const { stdout } = await run('redis-cli', ['-p', String(replicaPort), 'info', 'replication']);
      return stdout.includes('master_link_status:up') || undefined;
    });
    client = new Redis(masterPort, '127.0.0.1', { maxRetriesPerRequest: 1 });
    requireReplicaAck(client, { replicas: 1, timeoutMs: 500 });
    store = new ClaimStore(client, 'replica-test:', 10_000, 60_000);
  });

  after(() => {
    client?.disconnect();
    for (const p of [master, replica]) {
      p?.kill('SIGCONT');
      p?.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses, as transient, an effect no replica took (the message is then retried, never acked)', async () => {
    replica.kill('SIGSTOP');
    try {
      await assert.rejects(store.claim('q', 'unreplicated'), ReplicaAckTimeoutError);
    } finally {
      replica.kill('SIGCONT');
    }
    await waitFor('the replica to catch up again', async () => (await client.wait(1, 200)) === 1 || undefined, 20_000, 100);
  });

  it('acknowledges an effect only once the replica has it: it survives SIGKILL of the master', async () => {
    const claim = await store.claim('q', 'acked');
    assert.ok(claim.kind === 'claimed');
    await store.complete('q', 'acked', claim.token);
    master.kill('SIGKILL');
    const onReplica = new Redis(replicaPort, '127.0.0.1');
    try {
      assert.equal(await onReplica.get('replica-test:idem:q:acked'), 'done');
    } finally {
      onReplica.disconnect();
    }
  });
});
