import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../shared/config/config';
import { loadFleetConfig, SERVICE_NAMES } from './registry';

/**
 * `npm run fleet`: runs every service of the registry as a child process in the foreground. SIGINT/SIGTERM is
 * passed to each, which drains and stops; the fleet exits when all have. If one dies, the others are stopped.
 */
/**
 * A laptop's fleet listens on the loopback interface only (its admin routes are open without an OPS_TOKEN), unless
 * OPS_HOST / API_HOST say otherwise; containers and pods set 0.0.0.0 themselves.
 */
export function fleetEnv(processEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { OPS_HOST: '127.0.0.1', API_HOST: '127.0.0.1', ...processEnv };
}

function main(): void {
  const env = fleetEnv(process.env);
  try {
    loadFleetConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let exitCode = 0;
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const child of children.values()) child.kill(signal);
  };
  for (const name of SERVICE_NAMES) {
    const child = spawn(process.execPath, [path.join(__dirname, 'run.js'), name], { stdio: 'inherit', env });
    children.set(name, child);
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (!stopping) {
        process.stderr.write(`${JSON.stringify({ level: 'error', service: 'fleet', msg: `${name} exited unexpectedly`, code, signal })}\n`);
        exitCode = 1;
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit(exitCode);
    });
  }
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
}

if (require.main === module) main();
