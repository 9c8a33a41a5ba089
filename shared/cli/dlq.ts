import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { loadConfig } from '../config/config';
import { DlqAdmin } from '../dlq/dlq-admin';
import { UnknownDlqError } from '../dlq/dlq-errors';
import { redactDeep, redactText } from '../dlq/redact';
import { deadLetterQueueName } from '../messaging/topology';
import { createLogger } from '../observability/logger';
import { formatList, formatPurge, formatReplay, formatShow } from './dlq-output';
import { EXIT, loadToolConfig, type CliIo } from './tool';
import { printableJson } from './printable';

/** Where the CLI reads its environment and writes its output: the process by default, buffers in tests. */

class UsageError extends Error {}

type Work = (admin: DlqAdmin) => Promise<{ result: unknown; text: string; exitCode?: number }>;

/**
 * `dlq list | show <dlq> | replay <dlq> | purge <dlq>`: runs one command and resolves to the exit code
 * (0 done, 1 failed, 2 bad usage, 78 bad configuration). Everything printed is redacted of payment tokens.
 * `queues` are the fleet's consumer queues (each has a `<queue>.dlq`); the library knows no fleet, so the entry
 * point (workers/dlq.ts) passes them from the registry.
 */
export async function runDlqCli(argv: readonly string[], queues: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const run = async (json: boolean, work: Work) => {
    exitCode = await execute(io, queues, json, work);
  };
  const program = buildProgram(io, queues, run);
  try {
    if (argv.length === 0) throw new UsageError('missing command: list, show, replay or purge (see --help)');
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    // Commander has already printed its own one-line message.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.err(`dlq: ${oneLine((error as Error).message)}\n`);
    return error instanceof UsageError || error instanceof UnknownDlqError ? EXIT.usage : EXIT.failed;
  }
}

function buildProgram(io: CliIo, queues: readonly string[], run: (json: boolean, work: Work) => Promise<void>): Command {
  const known = (dlq: string): string => knownDlq(queues, dlq);
  const program = new Command('dlq')
    .description("Inspect, replay and purge the fleet's dead-letter queues (broker from AMQP_URL).")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: (s, write) => write(`dlq: ${oneLine(s)}\n`) });
  const json = new Option('--json', 'print the result as one line of JSON, for scripts');

  program
    .command('list')
    .description('every DLQ with its depth')
    .addOption(json)
    .action((o: { json?: boolean }) =>
      run(!!o.json, async (admin) => {
        const depths = await admin.list();
        return { result: { dlqs: depths }, text: formatList(depths) };
      }),
    );

  program
    .command('show')
    .description('the first messages of a DLQ and why they failed; the DLQ is left as it was')
    .argument('<dlq>', 'e.g. warren.payment.dlq')
    .addOption(json)
    .option('--limit <n>', 'messages to show', positiveInt, 20)
    .option('--body', 'also print each body (payment tokens redacted)')
    .action((dlq: string, o: { json?: boolean; limit: number; body?: boolean }) => {
      known(dlq);
      return run(!!o.json, async (admin) => {
        const shown = await admin.show(dlq, { limit: o.limit, withBody: !!o.body });
        return { result: shown, text: formatShow(shown) };
      });
    });

  program
    .command('replay')
    .description('send messages back to the queue that failed them, with a full set of attempts')
    .argument('<dlq>', 'e.g. warren.payment.dlq')
    .addOption(json)
    .addOption(new Option('--id <messageId>', 'replay the message with this id').conflicts('all'))
    .addOption(new Option('--all', 'replay every message'))
    .option('--dry-run', 'print what would be replayed and change nothing')
    .action((dlq: string, o: { json?: boolean; id?: string; all?: boolean; dryRun?: boolean }) => {
      known(dlq);
      if (!o.id && !o.all) throw new UsageError('replay needs --id <messageId> or --all');
      return run(!!o.json, async (admin) => {
        const result = await admin.replay(dlq, { select: o.id ? { id: o.id } : { all: true }, dryRun: !!o.dryRun });
        if (result.notFound) io.err(`dlq: no message with id ${redactText(o.id ?? '')} in ${dlq}\n`);
        if (result.skipped.length > 0)
          io.err(`dlq: ${result.skipped.length} selected message(s) could not be replayed and stay in ${dlq}\n`);
        const incomplete = result.notFound || result.skipped.length > 0;
        return { result, text: formatReplay(result), exitCode: incomplete ? EXIT.failed : EXIT.ok };
      });
    });

  program
    .command('purge')
    .description('delete every message of a DLQ')
    .argument('<dlq>', 'e.g. warren.payment.dlq')
    .addOption(json)
    .option('--yes', 'confirm: the messages are gone for good')
    .action((dlq: string, o: { json?: boolean; yes?: boolean }) => {
      if (!o.yes) throw new UsageError(`refusing to purge ${known(dlq)} without --yes`);
      return run(!!o.json, async (admin) => {
        const purged = await admin.purge(dlq);
        return { result: purged, text: formatPurge(purged) };
      });
    });
  return program;
}

/** Loads the configuration, connects, does the work, prints, and always disconnects. */
async function execute(io: CliIo, queues: readonly string[], json: boolean, work: Work): Promise<number> {
  const loaded = loadToolConfig(() => loadConfig(io.env), io, 'dlq: ');
  if ('exit' in loaded) return loaded.exit;
  const { config } = loaded;
  const log = createLogger({ service: 'dlq', level: 'warn', destination: io.logDestination ?? pino.destination({ dest: 2, sync: true }) });
  const options = {
    amqpUrl: config.amqpUrl,
    ...(config.amqpTls ? { tls: config.amqpTls } : {}),
    queues,
    eventsExchange: config.eventsExchange,
    publishTimeoutMs: config.publishTimeoutMs,
    log,
  };
  const admin = await DlqAdmin.open(options).catch((error: Error) => {
    throw new Error(`cannot connect to the broker at ${safeUrl(config.amqpUrl)}: ${error.message}`);
  });
  try {
    const { result, text, exitCode } = await work(admin);
    io.out(json ? `${printableJson(redactDeep(result))}\n` : redactText(text));
    return exitCode ?? EXIT.ok;
  } finally {
    await admin.close();
  }
}

/** Checks the name before anything connects, so that a typo is a usage error. */
function knownDlq(queues: readonly string[], dlq: string): string {
  const dlqs = queues.map(deadLetterQueueName);
  if (!dlqs.includes(dlq)) throw new UnknownDlqError(dlq, dlqs);
  return dlq;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** The broker's address without its credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparsable AMQP_URL)';
  }
}

function oneLine(text: string): string {
  return redactText(
    text
      .replace(/^error: /, '')
      .replace(/\s*\n\s*/g, ' ')
      .trim(),
  );
}

function processIo(): CliIo {
  return { env: process.env, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
}
