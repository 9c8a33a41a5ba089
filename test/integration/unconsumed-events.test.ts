import assert from 'node:assert/strict';
import { PublishError } from '../../shared/errors/errors';
import { createEvent } from '../../shared/events/codec';
import { Runtime } from '../../shared/lifecycle/runtime';
import { loadFleetConfig } from '../../workers/registry';
import { createVhost, deleteVhost, REDIS_URL, uniqueName } from '../helpers/broker';
import { LogCapture } from '../helpers/log-capture';
import { freePort } from '../helpers/ports';

/**
 * On a real broker, in a vhost where no queue binds `payment.declined`: a runtime told that key has no consumer
 * publishes it and the broker drops it, and says so once at start; a runtime not told so fails the publish as
 * unroutable, as it does for a queue deleted under a bound key.
 */
describe('an event no service consumes yet (real RabbitMQ)', function () {
  let vhost: string;
  let url: string;
  const runtimes: Runtime[] = [];

  before(async () => ({ vhost, url } = await createVhost('warren-unconsumed')));
  after(async () => {
    for (const runtime of runtimes) await runtime.stop();
    await deleteVhost(vhost);
  });

  async function started(unconsumedKeys: string[] | undefined, logs: LogCapture): Promise<Runtime> {
    const config = loadFleetConfig({ AMQP_URL: url, REDIS_URL, REDIS_KEY_PREFIX: `${uniqueName('unconsumed')}:`, LOG_LEVEL: 'warn' });
    const runtime = new Runtime(config, {
      service: 'newcomer',
      queues: [],
      opsPort: await freePort(),
      logDestination: logs,
      ...(unconsumedKeys ? { unconsumedKeys } : {}),
    });
    runtimes.push(runtime);
    await runtime.start();
    return runtime;
  }
  const declined = () => createEvent('PaymentDeclined', { orderId: uniqueName('o'), reason: 'CARD_DECLINED' }, { correlationId: 'c' });

  it('is published without mandatory and dropped by the broker, and the service says so at start', async () => {
    const logs = new LogCapture();
    const runtime = await started(['payment.declined'], logs);
    await runtime.publisher.publishEvent(declined());
    const [said] = logs.entries('no service of the fleet consumes these events yet: published without mandatory, dropped by the broker');
    assert.deepEqual(said?.['routingKeys'], ['payment.declined']);
  });

  it('fails as unroutable where the key is not declared unconsumed, so a lost queue is never silent', async () => {
    const logs = new LogCapture();
    const runtime = await started(undefined, logs);
    await assert.rejects(runtime.publisher.publishEvent(declined()), (e: unknown) => e instanceof PublishError && e.outcome === 'returned');
    assert.equal(
      logs.entries('no service of the fleet consumes these events yet: published without mandatory, dropped by the broker').length,
      0,
    );
  });
});
