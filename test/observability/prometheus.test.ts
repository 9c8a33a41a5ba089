import assert from 'node:assert/strict';
import { http } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { publishRaw } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';
import { SERVICE_NAMES } from '../../workers/registry';
import { driveOrders } from './order-traffic';
import {
  api,
  ensureRabbitmqPrometheus,
  finite,
  loadDashboards,
  loadRules,
  panelTargets,
  query,
  requireBinary,
  startPrometheus,
  substitute,
  testConfig,
  type PrometheusServer,
} from './prometheus-harness';

// A real Prometheus scraping a fleet that processes orders of every kind: every dashboard panel and alert expression
// runs against it. The checks that need no fleet (promtool, the dashboard model) are in observability-config.test.ts.

/**
 * Panels allowed to be empty on a healthy fleet, each with the reason. Every other panel must return at least one
 * finite sample: throughput, latency, failures (the traffic includes flaky payments, out-of-stock orders and
 * poison) and every order panel.
 */
const MAY_BE_EMPTY: Record<string, string> = {
  'Redis errors': 'no Redis operation fails on a healthy run (the series appears with the first error)',
  'Consumer recoveries': 'no consumer is taken away by the broker on a healthy run (the series appears with the first)',
};

describe('observability proof: a real Prometheus scraping a fleet that is processing orders', function () {
  this.timeout(150_000);
  let fleet: TestFleet;
  let prometheus: PrometheusServer | undefined;
  let traffic: { stop: () => Promise<number> } | undefined;
  let startedAt = 0;

  before(async () => {
    await Promise.all([requireBinary('prometheus'), requireBinary('promtool')]);
    await ensureRabbitmqPrometheus();
    fleet = await startTestFleet();
    startedAt = Date.now();
    await http('PUT', `${fleet.urls.ops.inventory}/stock/OBS-IN`, { available: 1_000_000 });
    await http('PUT', `${fleet.urls.ops.inventory}/stock/OBS-OUT`, { available: 0 });
    traffic = driveOrders(fleet.urls.api);
    // Two poison messages, so that dead-letter series and DLQ depths exist.
    const { amqpUrl, eventsExchange } = fleet.config;
    await publishRaw(amqpUrl, eventsExchange, 'order.placed', '{"eventType":"OrderPlaced","orderId":', { messageId: 'obs-poison-json' });
    await publishRaw(
      amqpUrl,
      eventsExchange,
      'order.placed',
      JSON.stringify({ eventType: 'OrderPlaced', orderId: 'obs-poison', items: [], totalAmount: 1, timestamp: new Date().toISOString() }),
      { messageId: 'obs-poison-schema', contentType: 'application/json' },
    );
    // A seed-shaped order published twice, so that the duplicate series exist (the second copy is acked as one).
    const seed = JSON.stringify({
      eventType: 'OrderPlaced',
      orderId: `obs-dup-${Date.now()}`,
      items: [{ productId: 'OBS-IN', quantity: 1 }],
      totalAmount: 1,
      timestamp: new Date().toISOString(),
    });
    for (let copy = 0; copy < 2; copy++) await publishRaw(amqpUrl, eventsExchange, 'order.placed', seed, { messageId: 'obs-dup' });
    const port = (url: string) => `127.0.0.1:${new URL(url).port}`;
    prometheus = await startPrometheus(await testConfig({ warren: Object.values(fleet.urls.ops).map(port), rabbitmq: '127.0.0.1:15692' }));
    const prom = prometheus.url;
    const vhost = fleet.vhost;
    await waitFor(
      "every target scraped and RabbitMQ reporting the fleet's consumers",
      async () => {
        const consumers = await query(
          prom,
          `sum(rabbitmq_queue_consumers{vhost="${vhost}", queue=~"warren\\\\.(order|inventory|payment)"})`,
        );
        const up = await query(prom, 'sum(up)');
        // Every service's ops port and RabbitMQ's endpoint up; the three services' queues each consumed.
        return Number(consumers.series[0]?.value[1]) === 3 && Number(up.series[0]?.value[1]) === SERVICE_NAMES.length + 1;
      },
      40_000,
      500,
    );
    // Enough scrapes for every rate window the queries use (RATE_WINDOW), with traffic flowing throughout.
    await sleep(RATE_WINDOW_S * 1000 + 2000);
  });

  after(async () => {
    const placed = await traffic?.stop();
    if (placed !== undefined) console.log(`      (traffic: ${placed} orders placed during the proof)`);
    await prometheus?.stop();
    await fleet?.stop();
  });

  it("scrapes the three services and RabbitMQ's per-object endpoint, all up", async () => {
    const { activeTargets } = await api<{
      activeTargets: { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[];
    }>(prometheus!.url, '/api/v1/targets');
    assert.equal(activeTargets.length, SERVICE_NAMES.length + 1, 'every service and RabbitMQ');
    for (const t of activeTargets) assert.equal(t.health, 'up', `${t.scrapeUrl}: ${t.lastError}`);
    assert.ok(activeTargets.some((t) => t.scrapeUrl.endsWith(':15692/metrics/per-object')));
  });

  it('gets queue depth (ready, unacked), DLQ depth and consumer counts per queue from RabbitMQ', async () => {
    const prom = prometheus!.url;
    const v = `vhost="${fleet.vhost}"`;
    for (const queue of ['warren.order', 'warren.inventory', 'warren.payment']) {
      for (const metric of ['rabbitmq_queue_messages_ready', 'rabbitmq_queue_messages_unacked', 'rabbitmq_queue_consumers']) {
        const r = await query(prom, `${metric}{${v}, queue="${queue}"}`);
        assert.equal(r.series.length, 1, `${metric} for ${queue}`);
      }
    }
    // Each poison message is dead-lettered by all three consumers of order.placed; broker stats lag a few seconds.
    await waitFor(
      'both poison messages counted in every DLQ',
      async () => {
        const r = await query(prom, `rabbitmq_queue_messages{${v}, queue=~"warren\\\\.(order|inventory|payment)\\\\.dlq"}`);
        return r.series.length === 3 && r.series.every((s) => Number(s.value[1]) >= 2);
      },
      20_000,
      500,
    );
  });

  it('runs every dashboard panel query: each parses, and every panel but the listed few returns data', async () => {
    const prom = prometheus!.url;
    const targets = panelTargets(await loadDashboards());
    const rangeS = Math.max(RATE_WINDOW_S, Math.ceil((Date.now() - startedAt) / 1000));
    const grafana = { __rate_interval: `${RATE_WINDOW_S}s`, __range: `${rangeS}s`, __interval: '1s' };
    const all = { ...grafana, service: '.*', queue: '.*', vhost: fleet.vhost };
    const real = { ...grafana, service: 'order', queue: 'warren\\\\.order', vhost: fleet.vhost };
    const withData = new Map<string, boolean>();
    const lines: string[] = [];
    for (const t of targets) {
      const r = await query(prom, substitute(t.expr, all));
      assert.equal(r.status, 'success', `${t.dashboard} / ${t.panel} / ${t.refId}: ${r.error}\n${t.expr}`);
      const specific = await query(prom, substitute(t.expr, real));
      assert.equal(specific.status, 'success', `${t.dashboard} / ${t.panel} / ${t.refId} with real variable values: ${specific.error}`);
      const key = `${t.dashboard} / ${t.panel}`;
      withData.set(key, (withData.get(key) ?? false) || finite(r));
      lines.push(
        `${finite(r) ? 'data ' : 'empty'} ${String(r.series.length).padStart(3)} series  ${key} [${t.refId}]${finite(r) ? `  e.g. ${sample(r.series)}` : ''}`,
      );
    }
    console.log(`      ${targets.length} panel queries, all parsed:\n        ${lines.join('\n        ')}`);
    const emptyPanels = [...withData].filter(([, data]) => !data).map(([key]) => key);
    assert.deepEqual(
      emptyPanels.filter((key) => !MAY_BE_EMPTY[key.split(' / ')[1]!]),
      [],
      'panels without data',
    );
  });

  it('runs every alert rule expression: each parses, and Prometheus evaluates every rule without error', async () => {
    const prom = prometheus!.url;
    const rules = await loadRules();
    const lines: string[] = [];
    for (const { rule } of rules) {
      const r = await query(prom, rule.expr);
      assert.equal(r.status, 'success', `${rule.alert ?? rule.record}: ${r.error}`);
      lines.push(`${String(r.series.length).padStart(3)} series  ${rule.alert ?? rule.record}`);
    }
    console.log(
      `      ${rules.length} alert expressions, all parsed (series = would fire now, before 'for'):\n        ${lines.join('\n        ')}`,
    );
    const { groups } = await api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>(prom, '/api/v1/rules');
    const loaded = groups.flatMap((g) => g.rules);
    assert.equal(loaded.length, rules.length);
    for (const r of loaded) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
  });
});

/** Seconds of data each rate() looks at; Grafana's $__rate_interval for a 1 s scrape is smaller. */
const RATE_WINDOW_S = 10;

function sample(series: { metric: Record<string, string>; value: [number, string] }[]): string {
  const s = series.find((x) => Number.isFinite(Number(x.value[1])))!;
  const labels = Object.entries(s.metric)
    .filter(([k]) => !['instance', 'job'].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const value = Number(s.value[1]);
  return `{${labels}} ${Number.isInteger(value) ? value : value.toPrecision(3)}`;
}
