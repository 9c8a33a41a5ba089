import { ConfigError } from '../shared/config/config';
import { stopOnSignals } from '../shared/lifecycle/signals';
import { startTracing } from '../shared/observability/tracing';
import { loadFleetConfig, SERVICE_NAMES, type ServiceName } from './registry';
import { startService } from './services';

/** `npm run worker -- <name>`: one service of the registry in the foreground (what a container runs). */
async function main(): Promise<void> {
  const name = process.argv[2] as ServiceName | undefined;
  if (!name || !SERVICE_NAMES.includes(name)) {
    process.stderr.write(`usage: npm run worker -- <${SERVICE_NAMES.join('|')}>\n`);
    process.exit(2);
  }
  let config;
  try {
    config = loadFleetConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  // Before the service is built, so that its first request or delivery is traced; nothing is loaded while off.
  await startTracing(config.tracing, name);
  const runtime = await startService(name, config);
  stopOnSignals(
    () => runtime.stop(),
    (error) => runtime.log.error({ err: (error as Error).message }, 'shutdown failed'),
  );
}

main().catch((error: unknown) => {
  // A setting a service checks as it wires (PAYMENT_TOKEN_KEYS in production) stops it like a bad variable: one line.
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'start-up failed', err: (error as Error).message })}\n`);
  process.exit(1);
});
