import assert from 'node:assert/strict';
import { formatPlan } from '../../shared/cli/topology';
import { createOpsServer } from '../../shared/http/ops-server';
import { DriftTracker, parseInequivalentArg } from '../../shared/messaging/topology-drift';
import { createMetrics } from '../../shared/observability/metrics';
import { registerTopologyDriftGauge } from '../../shared/observability/topology-metric';

describe('topology drift', () => {
  describe('parseInequivalentArg (RabbitMQ 3.10 / 4.x refusal texts)', () => {
    const reply = (text: string) =>
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ${text}"`;

    it('reads a changed value', () => {
      assert.deepEqual(
        parseInequivalentArg(
          reply("inequivalent arg 'x-delivery-limit' for queue 'warren.payment' in vhost 'v': received '9' but current is '8'"),
        ),
        { queue: 'warren.payment', argument: 'x-delivery-limit', declared: '9', actual: '8' },
      );
    });

    it('reads an argument the code no longer sets, with its type', () => {
      assert.deepEqual(
        parseInequivalentArg(
          reply(
            "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received none but current is the value '8' of type 'byte'",
          ),
        ),
        { queue: 'q', argument: 'x-delivery-limit', declared: 'none', actual: '8' },
      );
    });

    it('is undefined for any other failure', () => {
      assert.equal(parseInequivalentArg('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), undefined);
    });
  });

  it('tracks one drift per queue, cleared when a declaration is accepted; the gauge reads 0 once cleared', async () => {
    const tracker = new DriftTracker();
    const metrics = createMetrics('t');
    registerTopologyDriftGauge(metrics.registry, () => tracker.list());
    tracker.record('b', { queue: 'b', argument: 'x-queue-type', declared: 'quorum', actual: 'classic' });
    tracker.record('a', { queue: 'a', argument: 'x-delivery-limit', declared: '9', actual: '8' });
    assert.deepEqual(
      tracker.list().map((d) => d.queue),
      ['a', 'b'],
    );
    assert.match(await metrics.registry.metrics(), /^warren_topology_drift\{queue="a",argument="x-delivery-limit",service="t"\} 1$/m);
    tracker.record('a', undefined);
    const text = await metrics.registry.metrics();
    assert.match(text, /^warren_topology_drift\{queue="a",argument="x-delivery-limit",service="t"\} 0$/m);
    assert.match(text, /^warren_topology_drift\{queue="b",argument="x-queue-type",service="t"\} 1$/m);
  });

  it('/readyz names the drift but stays 200: the topology check is advisory, and not in warren_readiness_check', async () => {
    const metrics = createMetrics('t');
    const drift = [{ queue: 'q', argument: 'x-delivery-limit', declared: '9', actual: '8' }];
    const app = createOpsServer(metrics.registry, [
      { name: 'redis', ok: () => true },
      { name: 'topology', ok: () => false, detail: () => ({ drift }), advisory: true },
    ]);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready', checks: { redis: true, topology: false }, details: { topology: { drift } } });
    assert.doesNotMatch(await metrics.registry.metrics(), /warren_readiness_check\{check="topology"/);
    await app.close();
  });

  it('the plan says what to run', () => {
    const text = formatPlan([
      { queue: 'q', service: 's', status: 'drift', argument: 'x-delivery-limit', declared: '9', actual: '8', messages: 3, consumers: 0 },
      { queue: 'q.retry.800', service: 's', status: 'missing' },
      { queue: 'q.dlq', service: 's', status: 'ok', messages: 0, consumers: 0 },
    ]);
    assert.match(text, /^q\s+s\s+drift\s+3\s+x-delivery-limit: 8 -> 9 \(migrate\)$/m);
    assert.match(text, /1 queue\(s\) missing: npm run topology -- apply/);
    assert.match(text, /1 queue\(s\) drift: .*migrate/);
    assert.match(formatPlan([{ queue: 'q', service: 's', status: 'ok', messages: 0 }]), /The broker matches the code\./);
  });
});
