import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { QueueType } from '../../shared/config/config';
import { rabbitmqctl, REDIS_URL } from '../helpers/broker';
import { benchOptions } from './lib/options';
import { destroyAllClusters } from './lib/cluster';
import { renderMarkdown, renderScalingMarkdown, renderTable, type Meta } from './lib/report';
import { Results } from './lib/results';
import { median } from './lib/stats';
import { stopAllChildren } from './lib/procs';
import { closeAllScopes } from './lib/scope';
import { restoreWatermark } from './lib/watermark';
import { benchBlocked } from './scenarios/blocked';
import { benchFleet } from './scenarios/fleet';
import { benchPublish } from './scenarios/publish';
import { benchRelay } from './scenarios/relay';
import { benchScaling } from './scenarios/scaling';
import { benchSoak } from './scenarios/soak';
import { benchPrefetchSweep } from './scenarios/sweep';
import { benchTracing } from './scenarios/tracing';

/**
 * `npm run bench [-- --quick] [--only=publish,relay,sweep,fleet,blocked,soak] [--queue=quorum|classic]`: Warren against raw amqplib on the
 * local RabbitMQ and Redis, in one run; prints the table, writes test/bench/results/<mode>.json, and (full runs
 * of every scenario) the results section of BENCHMARKS.md. Set BENCH_PROFILE_DIR to get CPU profiles of the
 * measured parts.
 *
 * `npm run bench -- --only=tracing`: the relay scenario's inventory worker with tracing off and on (OTLP to a local
 * sink), interleaved with the raw relay; only when named (BENCHMARKS.md, Tracing cost).
 *
 * `npm run bench -- --only=scaling [--write]`: the fleet with 1, 2 and 3 replicas of each worker on deploy/cluster's
 * three RabbitMQ nodes and Redis under Sentinel (containers: needs Docker and the stand-in images, so it runs only
 * when named, never as part of the full run); `--write` replaces BENCHMARKS.md's scaling table.
 */
const ROOT = path.resolve(__dirname, '../..');
const RESULTS_DIR = path.join(__dirname, 'results');
const MARK_START = '<!-- bench:results:start -->';
const MARK_END = '<!-- bench:results:end -->';
const SCALING_START = '<!-- bench:scaling:start -->';
const SCALING_END = '<!-- bench:scaling:end -->';

type Scenario = {
  name: string;
  queueType: QueueType;
  run: (r: Results, o: ReturnType<typeof benchOptions>, q: QueueType) => Promise<void>;
};

async function main(): Promise<number> {
  const options = benchOptions(process.argv.slice(2));
  const results = new Results();
  const started = Date.now();
  const meta: Meta = {
    startedAt: new Date(started).toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: options.quick ? 'quick' : 'full',
    machine: await machine(),
  };
  const q = options.defaultQueueType;
  const scenarios: Scenario[] = [
    ...options.queueTypes.map((queueType) => ({ name: 'publish', queueType, run: benchPublish })),
    ...options.queueTypes.map((queueType) => ({ name: 'relay', queueType, run: benchRelay })),
    { name: 'sweep', queueType: q, run: benchPrefetchSweep },
    ...options.queueTypes.map((queueType) => ({ name: 'fleet', queueType, run: benchFleet })),
    { name: 'blocked', queueType: q, run: benchBlocked },
    // Issue 15's 10-minute proof that RSS stays flat at half load (a minute with --quick).
    { name: 'soak', queueType: q, run: benchSoak },
    // Only when named: tracing off and on, the relay scenario's worker measured twice more.
    ...options.queueTypes.map((queueType) => ({ name: 'tracing', queueType, run: benchTracing })),
    // Only when named: it brings up a three-node cluster in Docker (about two minutes before the first order).
    { name: 'scaling', queueType: 'quorum' as const, run: benchScaling },
  ].filter((s) => (options.only ? options.only.includes(s.name) : s.name !== 'scaling' && s.name !== 'tracing'));
  for (const s of scenarios) {
    const t = Date.now();
    process.stderr.write(`bench: ${s.name} (${s.queueType})…`);
    try {
      await s.run(results, options, s.queueType);
      process.stderr.write(` ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
    } catch (error) {
      process.stderr.write(` failed: ${(error as Error).message}\n`);
      results.errors.push({ scenario: `${s.name} (${s.queueType})`, error: (error as Error).stack ?? String(error) });
    }
  }
  meta.durationS = Math.round((Date.now() - started) / 1000);
  meta.machine['loadEnd'] = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  process.stdout.write(`${renderTable(results, meta)}\n`);
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${options.only ? 'partial' : meta.mode}.json`);
  await writeFile(file, JSON.stringify({ meta, options, ...results }, null, 2));
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)} (${meta.durationS} s)\n`);
  const markdown = renderMarkdown(results, meta);
  // The tracked BENCHMARKS.md changes only when asked (`-- --write`), so a run leaves the work tree clean; the
  // section is always written beside the JSON for a look or a paste.
  await writeFile(path.join(RESULTS_DIR, 'results.md'), `${markdown}\n`);
  const scaling = renderScalingMarkdown(results, meta);
  if (scaling) {
    await writeFile(path.join(RESULTS_DIR, 'scaling.md'), `${scaling}\n`);
    process.stdout.write(`\n${scaling}\n`);
  }
  if (process.argv.includes('--write')) {
    if (scaling && !options.quick && options.only?.length === 1)
      await updateBenchmarksMd(scaling, SCALING_START, SCALING_END, 'scaling table');
    else if (options.quick || options.only)
      process.stdout.write('BENCHMARKS.md: not updated (--write takes a full run of every scenario, or a full --only=scaling)\n');
    else await updateBenchmarksMd(markdown);
  }
  return results.errors.length > 0 ? 1 : 0;
}

async function updateBenchmarksMd(section: string, markStart = MARK_START, markEnd = MARK_END, what = 'results section'): Promise<void> {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  if (!existsSync(file)) return;
  const text = await readFile(file, 'utf8');
  const start = text.indexOf(markStart);
  const end = text.indexOf(markEnd);
  if (start < 0 || end < start) return;
  await writeFile(file, `${text.slice(0, start + markStart.length)}\n${section}\n${text.slice(end)}`);
  process.stdout.write(`BENCHMARKS.md: ${what} updated\n`);
}

async function machine(): Promise<Record<string, string | number>> {
  const cpus = os.cpus();
  let rabbitmq = '?';
  let redis = '?';
  try {
    rabbitmq = (JSON.parse(await rabbitmqctl('status', '--formatter', 'json')) as { rabbitmq_version?: string }).rabbitmq_version ?? '?';
  } catch {
    // reported as '?'
  }
  const client = new Redis(REDIS_URL);
  let redisRttUs = Number.NaN;
  try {
    redis = /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? '?';
    const rtts: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = process.hrtime.bigint();
      await client.ping();
      rtts.push(Number(process.hrtime.bigint() - t) / 1000);
    }
    redisRttUs = Math.round(median(rtts));
  } catch {
    // reported as '?' and NaN
  } finally {
    client.disconnect();
  }
  return {
    cpu: cpus[0]?.model.trim() ?? '?',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    rabbitmq,
    redis,
    virtualization: readText('/proc/cmdline').includes('firecracker') ? 'Firecracker microVM' : '?',
    // What a system call and a loopback round trip cost here: both weigh on Warren's per-message work.
    syscallNs: syscallCost(),
    redisPingRttUs: redisRttUs,
    loadStart: os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Nanoseconds per write(2) of 16 bytes to /dev/null. */
function syscallCost(): number {
  const fd = openSync('/dev/null', 'w');
  const buffer = Buffer.alloc(16);
  try {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 20_000; i++) writeSync(fd, buffer);
    return Math.round(Number(process.hrtime.bigint() - t) / 20_000);
  } finally {
    closeSync(fd);
  }
}

let exiting = false;
async function interrupted(signal: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  process.stderr.write(
    `\nbench: ${signal}: stopping child processes, restoring the broker's watermark, deleting this run's vhosts and keys\n`,
  );
  await restoreWatermark().catch(() => undefined);
  await stopAllChildren();
  await closeAllScopes();
  await destroyAllClusters();
  process.exit(130);
}
const exitOnFailure = (error: unknown) => {
  process.stderr.write(`bench: cleanup failed: ${(error as Error).message}\n`);
  process.exit(130);
};
process.on('SIGINT', () => interrupted('SIGINT').catch(exitOnFailure));
process.on('SIGTERM', () => interrupted('SIGTERM').catch(exitOnFailure));

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    await restoreWatermark().catch(() => undefined);
    await stopAllChildren();
    await closeAllScopes();
    await destroyAllClusters();
    process.exit(1);
  },
);
