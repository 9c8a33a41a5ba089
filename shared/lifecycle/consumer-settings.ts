import { ConfigError, type WarrenConfig } from '../config/config';
import type { KillSwitchSettings } from '../messaging/kill-switch';
import type { ConsumedQueue } from './declaration';

/** What a queue's consumer runs with: the service-wide settings, overridden by its declaration where it says so. */
export interface ConsumerSettings {
  prefetch: number;
  recoveryDeadlineMs: number;
  killSwitch: KillSwitchSettings;
}

/**
 * Resolves one queue's consumer settings. An override in a declaration is code, not environment, but it is checked
 * the same way: a bad value stops start-up with one line naming the queue and the setting.
 */
export function consumerSettings(
  config: Pick<WarrenConfig, 'prefetch' | 'consumerRecoveryDeadlineMs' | 'killSwitch'>,
  declared?: ConsumedQueue,
): ConsumerSettings {
  const settings = {
    prefetch: declared?.prefetch ?? config.prefetch,
    recoveryDeadlineMs: config.consumerRecoveryDeadlineMs,
    killSwitch: { ...config.killSwitch, ...declared?.killSwitch },
  };
  const checks: [string, number, number][] = [
    ['prefetch', settings.prefetch, 1],
    ['killSwitch.threshold', settings.killSwitch.threshold, 0],
    ['killSwitch.windowMs', settings.killSwitch.windowMs, 1],
    ['killSwitch.cooldownMs', settings.killSwitch.cooldownMs, 1],
  ];
  for (const [name, value, min] of checks) {
    if (!Number.isInteger(value) || value < min)
      throw new ConfigError(`Invalid declaration: queue ${declared?.name ?? '?'}: ${name} must be an integer of at least ${min}`);
  }
  return settings;
}
