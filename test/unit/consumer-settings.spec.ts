import assert from 'node:assert/strict';
import { ConfigError } from '../../shared/config/config';
import { consumerSettings } from '../../shared/lifecycle/consumer-settings';

const config = {
  prefetch: 100,
  consumerRecoveryDeadlineMs: 60_000,
  killSwitch: { threshold: 0, windowMs: 60_000, cooldownMs: 15_000 },
};

describe('consumer settings per queue', () => {
  it('takes the service-wide settings for a queue that overrides nothing', () => {
    assert.deepEqual(consumerSettings(config, { name: 'q', bindings: [] }), {
      prefetch: 100,
      recoveryDeadlineMs: 60_000,
      killSwitch: { threshold: 0, windowMs: 60_000, cooldownMs: 15_000 },
    });
  });

  it("lets a queue's declaration override the prefetch and any kill switch setting, keeping the others", () => {
    const settings = consumerSettings(config, { name: 'q', bindings: [], prefetch: 10, killSwitch: { threshold: 5 } });
    assert.equal(settings.prefetch, 10);
    assert.deepEqual(settings.killSwitch, { threshold: 5, windowMs: 60_000, cooldownMs: 15_000 });
  });

  it('refuses a bad override, naming the queue and the setting', () => {
    assert.throws(
      () => consumerSettings(config, { name: 'warren.payment', bindings: [], prefetch: 0 }),
      (e: Error) => e instanceof ConfigError && /queue warren\.payment: prefetch/.test(e.message),
    );
    assert.throws(() => consumerSettings(config, { name: 'q', bindings: [], killSwitch: { cooldownMs: 1.5 } }), /killSwitch\.cooldownMs/);
  });
});
