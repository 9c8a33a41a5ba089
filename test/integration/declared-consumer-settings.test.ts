import assert from 'node:assert/strict';
import { createEvent } from '../../shared/events/codec';
import { Runtime } from '../../shared/lifecycle/runtime';
import type { ConsumedQueue } from '../../shared/lifecycle/declaration';
import { TransientError } from '../../shared/errors/errors';
import { loadFleetConfig } from '../../workers/registry';
import { createVhost, deleteVhost, rabbitmqctl, REDIS_URL, uniqueName } from '../helpers/broker';
import { LogCapture } from '../helpers/log-capture';
import { freePort } from '../helpers/ports';
import { publishRaw } from '../helpers/raw-amqp';
import { waitFor } from '../helpers/wait';

const QUEUE = 'warren.declared';
/** A declaration that overrides both of the service-wide consumer settings for its queue. */
const DECLARED: ConsumedQueue = { name: QUEUE, bindings: ['payment.declined'], prefetch: 7, killSwitch: { threshold: 3 } };

/**
 * A queue's declaration may override PREFETCH and the kill switch (shared/lifecycle/consumer-settings.ts); only the
 * resolver was tested. Here the runtime runs a declaration on a real broker whose environment says otherwise
 * (PREFETCH 100, kill switch off), and the broker's view of the consumer and the switch's own metric show which won.
 */
describe("a queue's declared consumer settings reach its consumer (real RabbitMQ)", function () {
  this.timeout(60_000);
  let vhost: string;
  let url: string;
  let runtime: Runtime;
  let runs = 0;

  before(async () => {
    ({ vhost, url } = await createVhost('warren-declared'));
    const config = loadFleetConfig({
      AMQP_URL: url,
      REDIS_URL,
      REDIS_KEY_PREFIX: `${uniqueName('declared')}:`,
      PAYMENT_OPS_PORT: String(await freePort()),
      PREFETCH: '100',
      KILL_SWITCH_THRESHOLD: '0',
      KILL_SWITCH_COOLDOWN_MS: '600000',
      RETRY_DELAYS_MS: '60000',
      LOG_LEVEL: 'warn',
    });
    runtime = new Runtime(config, {
      service: 'payment',
      queues: [DECLARED],
      opsPort: config.opsPorts['payment']!,
      logDestination: new LogCapture(),
    });
    const failing = async () => {
      runs++;
      throw new TransientError('downstream away');
    };
    runtime.consume(QUEUE, { PaymentDeclined: failing }, { idempotency: 'atomic' });
    await runtime.start();
  });

  after(async () => {
    await runtime?.stop();
    await deleteVhost(vhost);
  });

  it("the broker sees the declaration's prefetch, not PREFETCH", async () => {
    const consumers = await rabbitmqctl('list_consumers', '-p', vhost, 'queue_name', 'prefetch_count', '--formatter', 'json');
    const ours = (JSON.parse(consumers) as { queue_name: string; prefetch_count: number }[]).filter((c) => c.queue_name === QUEUE);
    assert.deepEqual(
      ours.map((c) => c.prefetch_count),
      [7],
    );
  });

  it("the kill switch trips at the declaration's threshold although KILL_SWITCH_THRESHOLD is 0", async () => {
    for (let i = 0; i < 3; i++) {
      const event = createEvent('PaymentDeclined', { orderId: `o-${i}`, reason: 'CARD_DECLINED' }, { correlationId: `o-${i}` });
      await publishRaw(url, 'warren.events', 'payment.declined', JSON.stringify(event), {
        messageId: event.eventId,
        type: 'PaymentDeclined',
        contentType: 'application/json',
      });
    }
    await waitFor('the consumer to pause', async () => {
      const text = await runtime.metrics.registry.getSingleMetricAsString('warren_consumer_paused');
      return new RegExp(`queue="${QUEUE.replace('.', '\\.')}"[^\\n]*} 1`).test(text) || undefined;
    });
    assert.equal(runs, 3, 'paused after exactly the declared three failures');
  });
});
