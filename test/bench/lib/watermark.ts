import { rabbitmqctl } from '../../helpers/broker';

/**
 * The broker's memory high watermark is shared by everyone on it: whatever a scenario sets, the setting found
 * at start is put back in `finally`, and also on SIGINT/SIGTERM of the harness (see run.ts).
 */
let saved: string | undefined;

async function current(): Promise<string> {
  try {
    const status = JSON.parse(await rabbitmqctl('status', '--formatter', 'json')) as {
      vm_memory_high_watermark_setting?: { relative?: number; absolute?: number };
    };
    const setting = status.vm_memory_high_watermark_setting;
    if (typeof setting?.relative === 'number') return String(setting.relative);
    if (typeof setting?.absolute === 'number') return `absolute ${setting.absolute}`;
  } catch {
    // fall through to RabbitMQ's default
  }
  return '0.4';
}

async function set(value: string): Promise<void> {
  await rabbitmqctl('set_vm_memory_high_watermark', ...value.split(' '));
}

/** Raises a memory alarm (every publishing connection is blocked) for as long as `during` runs. */
export async function withMemoryAlarm<T>(during: () => Promise<T>): Promise<T> {
  saved = await current();
  try {
    await set('0.0001');
    return await during();
  } finally {
    await restoreWatermark();
  }
}

/** Puts the saved watermark back; a no-op unless an alarm is in force. Safe to call twice. */
export async function restoreWatermark(): Promise<void> {
  if (saved === undefined) return;
  const value = saved;
  try {
    await set(value);
    saved = undefined;
  } catch (error) {
    process.stderr.write(
      `could not restore the broker's memory watermark to ${value}: run \`rabbitmqctl set_vm_memory_high_watermark ${value}\`\n`,
    );
    throw error;
  }
}
