import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fleetQueues, SERVICE_NAMES, type ServiceName } from '../../workers/registry';
import { rssMb } from '../bench/lib/procs';
import { http } from '../helpers/api';
import { queueDepths } from '../helpers/raw-amqp';
import { placeOrders, type Traffic } from '../helpers/traffic';
import { sleep } from '../helpers/wait';
import { SoakEnvironment } from './environment';
import { logLinesFor, orderIdsIn } from './evidence';
import { Faults, type FaultRecord } from './faults';
import { measureMaximum, type Maximum } from './maximum';
import { judgeService, MemoryWatch } from './memory';
import { soakOptions, type SoakOptions } from './options';
import { count, settle } from './outcomes';
import { failures, renderReport, type SoakSummary } from './report';

/**
 * `npm run soak -- --minutes N [--rate R] [--fault-every S]`: the fleet for N minutes at half its maximum (or R
 * orders/s) through the HTTP API, with a fault every S seconds (default 180) in rotation (broker restart, a worker
 * killed, Redis away, connections dropped), all against a RabbitMQ container and a redis-server of its own. Then
 * it lets everything settle and reports orders lost, done twice, stuck and ended otherwise than they asked, the
 * dead-letter queues, and each service's memory after a full collection (start, mid-way, after the first round
 * of faults, end) beside its sampled RSS. Exit 0: nothing wrong; 1: something was (the report's last line says what); 2: the soak itself failed.
 * Not part of `npm test` or CI (docs/testing.md, Benchmarks).
 */

const PRODUCTS = { inStock: 'SOAK-IN', outOfStock: 'SOAK-OUT' };
const STOCK = { 'SOAK-IN': 1_000_000_000, 'SOAK-OUT': 0 };
/** A client's wait before retrying a 503 or a reset: 200 ms, doubling to 5 s (a herd retrying every 200 ms at soak rates would be a load of its own). */
const retryDelayMs = (attempt: number) => Math.min(5000, 200 * 2 ** attempt);
/**
 * The clients' pool: at most this many seconds of orders between a first attempt and its 202. It covers any stall
 * shorter than that at full rate; through a longer outage later orders wait for a free client (the report gives
 * how late they went out) instead of a crowd of retries growing until the soak's own process is the bottleneck.
 */
const IN_FLIGHT_SECONDS = 10;
/** After the last order was due, how long clients may still retry before the soak counts what was accepted. */
const CLIENT_GRACE_MS = 300_000;
/** A restarted service's first full-GC probe, once it has warmed up: the baseline its end probe is compared with. */
const RESTART_PROBE_DELAY_S = 30;
const STATUS_EVERY_S = 60;
/** A full-GC probe of every service this long after each fault recovered: what the fault left behind. */
const FAULT_PROBE_DELAY_S = 10;

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = soakOptions(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 64;
  }
  const startedAt = Date.now();
  const command = `npm run soak -- ${process.argv.slice(2).join(' ')}`;
  const runDir = mkdtempSync(path.join(os.tmpdir(), `warren-soak-${new Date().toISOString().replace(/[:.]/g, '-')}-`));
  say(`${command}: run directory ${runDir} (service logs)`);

  const env = await SoakEnvironment.start(runDir);
  let stopping: Promise<void> | undefined;
  let stopped = false;
  const stop = () =>
    (stopping ??= env
      .stop()
      .catch((error: Error) => console.error(`cleanup: ${error.message}`))
      .finally(() => (stopped = true)));
  process.once('exit', () => stopped || env.stopSync());
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      say(`${signal}: stopping the fleet, removing ${env.broker.container} and the soak's Redis`);
      stop().then(
        () => process.exit(130),
        () => process.exit(130),
      );
    });

  try {
    say(
      `RabbitMQ ${(await env.broker.version()).trim()} in container ${env.broker.container} (${new URL(env.broker.amqpUrl).host}), ` +
        `redis-server at ${new URL(env.redis.url).host} (AOF), services ready with inspectors on the loopback`,
    );
    for (const [p, n] of Object.entries(STOCK)) await http('PUT', `${env.ops('inventory')}/stock/${p}`, { available: n });

    let maximum: Maximum | undefined;
    let rate: number;
    if (options.rate !== undefined) {
      rate = options.rate;
      say(`rate ${rate} orders/s (--rate: no maximum measured)`);
    } else {
      say('measuring the maximum: a warm-up, then a burst of orders by closed-loop clients…');
      maximum = await measureMaximum(env.api, env.ops('inventory'), env.amqpUrl);
      rate = Math.max(1, Math.round(maximum.perSecond / 2));
      say(
        `maximum ${Math.round(maximum.perSecond)} orders/s (${maximum.orders} orders, ${maximum.clients} clients, ${maximum.seconds.toFixed(1)} s) → soak rate ${rate} orders/s (half)`,
      );
    }

    const durationS = options.minutes * 60;
    const everyS = options.faultEveryS;
    // The start probe before the first fault; no fault in the last half interval, so the fleet recovers under load.
    const warmupS = Math.min(60, everyS / 2, durationS / 4);
    const faultAt: number[] = [];
    for (let k = 1; k * everyS <= durationS - everyS / 2; k++) faultAt.push(k * everyS);
    const total = Math.round(rate * durationS);
    say(
      `soak: ${total} orders at ${rate}/s over ${options.minutes} min; ${faultAt.length} faults at ${faultAt.map((t) => `${t}s`).join(', ') || '—'}; ` +
        `full-GC probes at ${warmupS.toFixed(0)} s, ${(durationS / 2).toFixed(0)} s, 10 s after each fault and once every order has ended`,
    );

    const t0 = Date.now();
    const secs = () => (Date.now() - t0) / 1000;
    const at = () => `[${secs().toFixed(0).padStart(5)}s]`;
    const watch = new MemoryWatch(env, t0);
    watch.startSampling();
    const faults = new Faults(env, t0);
    const maxInFlight = Math.max(256, Math.round(rate * IN_FLIGHT_SECONDS));
    const traffic: Traffic = placeOrders(env.api, total, rate, PRODUCTS, { onSchedule: true, retryDelayMs, maxInFlight });
    let trafficError: Error | undefined;
    const trafficDone = traffic.done.catch((error: Error) => {
      trafficError = error;
    });

    const unexpectedExits: string[] = [];
    const restartProbes: { name: ServiceName; atS: number; label: string }[] = [];
    const supervise = async () => {
      const fleet = env.fleet!;
      for (const name of SERVICE_NAMES) {
        if (fleet.isRunning(name)) continue;
        const exit = fleet.exits.filter((e) => e.name === name).at(-1);
        const what = `${name} at ${secs().toFixed(0)} s (code ${exit?.code ?? '?'}, signal ${exit?.signal ?? '—'})`;
        unexpectedExits.push(what);
        say(`${at()} ${what} exited on its own: starting a new process`);
        env.mark(name, 'exited on its own; the soak starts a new process');
        await fleet.spawn(name).catch((error: Error) => say(`${at()} ${name} did not come back: ${error.message}`));
        restartProbes.push({ name, atS: secs() + RESTART_PROBE_DELAY_S, label: `new ${name} (after its exit)` });
      }
    };

    const faultProbes: { label: string; atS: number }[] = [];
    let probedStart = false;
    let probedMid = false;
    let nextStatus = STATUS_EVERY_S;
    while (secs() < durationS) {
      if (!probedStart && secs() >= warmupS) {
        probedStart = true;
        await watch.probe('start');
        say(`${at()} full-GC probe "start": ${probeLine(watch, 'start')}`);
      }
      if (!probedMid && secs() >= durationS / 2) {
        probedMid = true;
        await watch.probe('mid');
        say(`${at()} full-GC probe "mid": ${probeLine(watch, 'mid')}`);
      }
      if (faultAt.length > 0 && secs() >= faultAt[0]!) {
        faultAt.shift();
        say(`${at()} fault ${faults.records.length + 1}: ${faults.nextKind}…`);
        const record = await faults.inject();
        say(`${at()} ${faultLine(record)}`);
        if (record.victim)
          restartProbes.push({
            name: record.victim,
            atS: secs() + RESTART_PROBE_DELAY_S,
            label: `new ${record.victim} (fault ${record.n})`,
          });
        faultProbes.push({ label: `after fault ${record.n}`, atS: secs() + FAULT_PROBE_DELAY_S });
      }
      for (const due of faultProbes.filter((p) => secs() >= p.atS)) {
        faultProbes.splice(faultProbes.indexOf(due), 1);
        await watch.probe(due.label);
        say(`${at()} full-GC probe "${due.label}": ${probeLine(watch, due.label)}`);
      }
      for (const due of restartProbes.filter((p) => secs() >= p.atS)) {
        restartProbes.splice(restartProbes.indexOf(due), 1);
        await watch.probe(due.label, [due.name]);
        say(`${at()} full-GC probe "${due.label}": ${probeLine(watch, due.label, [due.name])}`);
      }
      await supervise();
      if (secs() >= nextStatus) {
        nextStatus += STATUS_EVERY_S;
        const rss = SERVICE_NAMES.map((n) => `${n} ${Math.round(rssMb(env.fleet!.pid(n)))}`).join(', ');
        say(
          `${at()} accepted ${traffic.accepted.length} of ~${Math.min(total, Math.round(rate * secs()))} due` +
            ` (sends up to ${((traffic.lagMs ?? 0) / 1000).toFixed(1)} s late); 503s ${traffic.unavailable}; RSS MB ${rss}; ` +
            `queued ${fmtDepths(await backlog(env))}`,
        );
      }
      await sleep(250);
    }

    say(`${at()} last order due; waiting for the clients still retrying…`);
    const inTime = await Promise.race([trafficDone.then(() => true), sleep(CLIENT_GRACE_MS).then(() => false)]);
    const trafficEndS = secs();
    watch.stopSampling();
    const queuedAtEnd = await backlog(env);
    if (trafficError) say(`${at()} traffic: ${trafficError.message}`);
    if (!inTime) say(`${at()} clients still retrying ${CLIENT_GRACE_MS / 1000} s after the last order was due: counting what was accepted`);
    // What was accepted by now is what is checked: a client still retrying in the background changes nothing below.
    const checked: Traffic = { ...traffic, accepted: [...traffic.accepted], expected: new Map(traffic.expected) };
    say(`${at()} ${checked.accepted.length} of ${total} accepted, ${fmtDepths(queuedAtEnd)} queued; waiting for every order to end…`);
    const settled = await settle(env, checked.accepted);
    // The end probe once every order has ended, nothing in flight, and before the checks read every order and
    // payment back (tens of thousands of requests to the ops servers: a load of their own, which it would see).
    await watch.probe('end');
    say(`${at()} full-GC probe "end": ${probeLine(watch, 'end')}`);
    say(`${at()} counting: ledgers, stock, dead letters…`);
    const orders = await count(env, checked, total, STOCK, settled);
    await supervise();

    const memory = SERVICE_NAMES.map((name) => judgeService(watch, name, { warmupS, trafficEndS, ratePerSecond: rate }, faults.records));
    const summary: SoakSummary = {
      command,
      minutes: options.minutes,
      faultEveryS: everyS,
      rate,
      ...(maximum ? { maximum } : {}),
      clients: { maxInFlight, lagS: (traffic.lagMs ?? 0) / 1000 },
      queuedAtEnd,
      faults: faults.records,
      unexpectedExits,
      orders,
      memory,
      runDir,
      tookS: (Date.now() - startedAt) / 1000,
    };
    if (trafficError) summary.unexpectedExits.push(`traffic: ${trafficError.message}`);
    const report = renderReport(summary);
    console.log(`\n${report}`);

    const named = [...orders.wrong, ...orders.stuck.map((id) => `${id}: stuck PENDING`), ...orders.missing, ...orders.problems];
    writeFileSync(path.join(runDir, 'report.txt'), `${report}\n`);
    writeFileSync(path.join(runDir, 'problems.txt'), named.join('\n') + (named.length ? '\n' : ''));
    writeFileSync(path.join(runDir, 'soak.json'), JSON.stringify({ ...summary, samples: watch.allSamples() }, null, 1));
    if (named.length > 0) {
      const evidence = await logLinesFor(runDir, orderIdsIn(named, 10));
      writeFileSync(path.join(runDir, 'evidence.txt'), `${evidence.join('\n')}\n`);
      say(`log lines of the first ${Math.min(10, named.length)} orders named above: ${path.join(runDir, 'evidence.txt')}`);
    }
    return failures(summary).length === 0 ? 0 : 1;
  } finally {
    await stop();
  }
}

function probeLine(watch: MemoryWatch, label: string, names: readonly ServiceName[] = SERVICE_NAMES): string {
  return names
    .map((name) => {
      const p = watch.probes
        .get(name)!
        .filter((x) => x.label === label)
        .at(-1);
      if (!p) return `${name} —`;
      return p.error !== undefined ? `${name} failed (${p.error})` : `${name} heap ${p.heapUsedMb} MB, RSS ${p.rssMb} MB`;
    })
    .join('; ');
}

function faultLine(f: FaultRecord): string {
  return (
    `fault ${f.n} ${f.kind}: ${f.detail}; took ${f.tookS.toFixed(1)} s, ` +
    (f.readyAfterS === undefined ? 'fleet NOT ready again' : `every service ready after ${f.readyAfterS.toFixed(1)} s`) +
    (f.lastNotReady ? ` (last not ready: ${f.lastNotReady})` : '') +
    (f.error ? `; ERROR ${f.error}` : '')
  );
}

/** Messages waiting in each consumer queue (the fleet's backlog); empty while the broker is away. */
async function backlog(env: SoakEnvironment): Promise<Record<string, number>> {
  return queueDepths(env.amqpUrl, fleetQueues()).catch(() => ({}));
}

function fmtDepths(depths: Record<string, number>): string {
  const entries = Object.entries(depths);
  return entries.length > 0 ? entries.map(([queue, n]) => `${queue.replace(/^warren\./, '')} ${n}`).join(', ') : '— (broker away)';
}

function say(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`soak failed: ${error.stack ?? error.message}`);
    process.exit(2);
  },
);
