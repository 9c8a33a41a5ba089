import { TopologyAdmin, type QueueState, type ServiceTopology } from '../topology/topology-admin';
import { EXIT, loadToolConfig, type CliIo } from './tool';
import type { TlsFiles } from '../config/tls-files';

const USAGE = 'usage: topology plan | apply | migrate <queue>... [--force] | migrate --all [--force]   (add --json for one line of JSON)';

/** What the entry point (workers/topology.ts) knows: the broker and every service's declared topology. */
export interface TopologyCliContext {
  amqpUrl: string;
  /** AMQP_TLS_* (with an amqps:// URL). @defaultValue none */
  tls?: TlsFiles;
  services: readonly ServiceTopology[];
}

/**
 * `topology plan | apply | migrate`: compares, applies and migrates the fleet's queues; resolves to the exit code
 * (0 done, 1 failed, 2 bad usage, 78 bad configuration). `load` reads the configuration, so a bad variable is
 * reported like the other tools'.
 */
export async function runTopologyCli(argv: readonly string[], load: () => TopologyCliContext, io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const force = argv.includes('--force');
  const [command, ...rest] = argv.filter((a) => a !== '--json' && a !== '--force');
  if (command !== 'plan' && command !== 'apply' && command !== 'migrate') {
    io.err(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (command === 'migrate' && rest.length === 0) {
    io.err(`topology: migrate needs a queue name or --all\n${USAGE}\n`);
    return EXIT.usage;
  }
  const loaded = loadToolConfig(load, io);
  if ('exit' in loaded) return loaded.exit;
  const context = loaded.config;
  const admin = await TopologyAdmin.open(context.amqpUrl, context.services, context.tls);
  try {
    if (command === 'migrate') {
      const queues = rest[0] === '--all' ? (await admin.plan()).filter((s) => s.status === 'drift').map((s) => s.queue) : rest;
      const results = [];
      for (const queue of queues) {
        const result = await admin.migrate(queue, { force });
        results.push(result);
        if (!json) io.out(`migrated ${queue}: ${result.moved} message(s) moved out and ${result.movedBack} back\n`);
      }
      if (json) io.out(`${JSON.stringify({ migrated: results })}\n`);
      else if (results.length === 0) io.out('nothing to migrate: no queue drifts\n');
      return EXIT.ok;
    }
    const states = command === 'plan' ? await admin.plan() : await admin.apply();
    io.out(json ? `${JSON.stringify({ queues: states })}\n` : formatPlan(states));
    return EXIT.ok;
  } catch (error) {
    io.err(`topology: ${(error as Error).message.split('\n')[0]}\n`);
    return EXIT.failed;
  } finally {
    await admin.close();
  }
}

/** One line per queue, then what to run for the queues that differ. */
export function formatPlan(states: readonly QueueState[]): string {
  const rows = states.map((s) => [s.queue, s.service, s.status, s.messages === undefined ? '-' : String(s.messages), change(s)]);
  const header = ['QUEUE', 'SERVICE', 'STATE', 'MESSAGES', 'CHANGE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  const missing = states.filter((s) => s.status === 'missing').length;
  const drift = states.filter((s) => s.status === 'drift').length;
  const summary =
    missing + drift === 0
      ? 'The broker matches the code.'
      : [
          missing > 0 ? `${missing} queue(s) missing: npm run topology -- apply` : '',
          drift > 0 ? `${drift} queue(s) drift: stop their service, then npm run topology -- migrate <queue> (or --all)` : '',
        ]
          .filter(Boolean)
          .join('\n');
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${summary}\n`;
}

function change(s: QueueState): string {
  if (s.status === 'missing') return 'declare (apply)';
  if (s.status === 'drift') return `${s.argument}: ${s.actual} -> ${s.declared} (migrate)`;
  return '';
}
