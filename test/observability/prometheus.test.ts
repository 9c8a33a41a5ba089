import assert from 'node:assert/strict';
import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { http, orderRequest } from '../helpers/api';
import { startTestFleet, type TestFleet } from '../helpers/fleet';
import { publishRaw } from '../helpers/raw-amqp';
import { sleep, waitFor } from '../helpers/wait';
import {
  api,
  ensureRabbitmqPrometheus,
  finite,
  loadDashboards,
  loadRules,
  panelTargets,
  PROMETHEUS_DIR,
  promtool,
  query,
  RULES_DIR,
  requireBinary,
  ROOT,
  startPrometheus,
  substitute,
  testConfig,
  type PrometheusServer,
} from './prometheus-harness';

/**
 * Panels allowed to be empty on a healthy fleet, each with the reason. Every other panel must return at least one
 * finite sample: throughput, latency, failures (the traffic includes flaky payments, out-of-stock orders and
 * poison) and every order panel.
 */
const MAY_BE_EMPTY: Record<string, string> = {
  'Redis errors': 'no Redis operation fails on a healthy run (the series appears with the first error)',
  'Consumer recoveries': 'no consumer is taken away by the broker on a healthy run (the series appears with the first)',
};

describe('observability config: promtool and the dashboard model', function () {
  this.timeout(60_000);

  it('the shipped config scrapes the compose fleet: order:9101, inventory:9102, payment:9103 and rabbitmq:15692 per object', async () => {
    const config = parseYaml(await readFile(path.join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Record<string, any>[];
    };
    const job = (name: string) => config.scrape_configs.find((c) => c['job_name'] === name)!;
    const warren = (job('warren')['dns_sd_configs'] as { names: string[]; port: number }[]).map((d) => `${d.names.join(',')}:${d.port}`);
    assert.deepEqual(warren, ['order:9101', 'inventory:9102', 'payment:9103']);
    assert.equal(job('rabbitmq')['metrics_path'], '/metrics/per-object');
    assert.deepEqual(job('rabbitmq')['static_configs'][0].targets, ['rabbitmq:15692']);
  });

  it('promtool check config, check rules and test rules pass', async () => {
    const config = await promtool('check', 'config', path.join(PROMETHEUS_DIR, 'prometheus.yml'));
    const rules = await promtool('check', 'rules', ...(await ruleFiles()));
    const tests = await promtool('test', 'rules', ...(await testFiles()));
    for (const out of [config, rules, tests]) assert.match(out, /SUCCESS/);
    console.log(
      `      ${[config, rules, tests]
        .join('')
        .trim()
        .split('\n')
        .filter((l) => /SUCCESS|rules found/.test(l))
        .map((l) => l.trim())
        .join('\n      ')}`,
    );
  });

  it('every alert has a summary, a description and a runbook anchor in docs/operations.md named after it', async () => {
    const raw = await Promise.all(
      (await ruleFiles()).map(async (f) => parseYaml(await readFile(f, 'utf8')) as { groups: { rules: Record<string, any>[] }[] }),
    );
    const alerts = raw.flatMap((d) => d.groups.flatMap((g) => g.rules)).filter((r) => r['alert']);
    const names = alerts.map((a) => a['alert'] as string);
    for (const required of [
      'WarrenDeadLetterQueueGrowing',
      'WarrenHighRetryRate',
      'WarrenConsumerAbsent',
      'WarrenPublishConfirmSlow',
      'WarrenEventLagHigh',
      'WarrenSagaTimeouts',
      'WarrenApiErrorRatio',
      'WarrenHandlerErrorRatio',
      'WarrenServiceNotReady',
      'WarrenServiceDown',
    ]) {
      assert.ok(names.includes(required), `missing alert ${required}`);
    }
    const doc = await readFile(path.join(ROOT, 'docs/operations.md'), 'utf8');
    for (const a of alerts) {
      assert.ok(a['annotations']?.summary && a['annotations']?.description, `${a['alert']} lacks summary or description`);
      assert.equal(a['annotations'].runbook_url, `docs/operations.md#runbook-${String(a['alert']).toLowerCase()}`);
      assert.ok(doc.includes(`Runbook: ${a['alert']}`), `docs/operations.md has no "Runbook: ${a['alert']}" section`);
    }
  });

  it("dashboards follow Grafana's classic JSON model: uid, schemaVersion, datasource by uid variable, a 24-column grid, variables for service and queue", async () => {
    const dashboards = await loadDashboards();
    assert.deepEqual(dashboards.map((d) => d.dashboard.title).sort(), ['Warren fleet overview', 'Warren order flow']);
    for (const { file, dashboard } of dashboards) {
      assert.match(dashboard.uid, /^[a-z0-9-]{8,40}$/, file);
      assert.ok(dashboard.schemaVersion >= 39 && dashboard.schemaVersion <= 41, `${file} schemaVersion ${dashboard.schemaVersion}`);
      const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      assert.equal(vars.get('datasource')?.type, 'datasource', file);
      for (const name of ['service', 'queue']) assert.equal(vars.get(name)?.type, 'query', `${file} variable ${name}`);
      const ids = new Set<number>();
      for (const p of dashboard.panels) {
        assert.ok(!ids.has(p.id), `${file}: duplicate panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(['row', 'timeseries', 'stat'].includes(p.type), `${file}: ${p.title} is ${p.type}`);
        assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0, `${file}: ${p.title} gridPos`);
        if (p.type === 'row') continue;
        assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${file}: ${p.title} datasource`);
        assert.ok(p.targets && p.targets.length > 0, `${file}: ${p.title} has no query`);
        for (const t of p.targets)
          assert.ok(t.refId && t.expr && t.datasource?.uid === '${datasource}', `${file}: ${p.title} target ${t.refId}`);
      }
    }
    const compose = path.join(ROOT, 'docker-compose.yml');
    if (await exists(compose)) {
      // The provisioning provider reads the dashboards where the compose file mounts them.
      const provider = parseYaml(await readFile(path.join(ROOT, 'deploy/grafana/provisioning/dashboards/warren.yml'), 'utf8')) as {
        providers: { options: { path: string } }[];
      };
      const composeText = await readFile(compose, 'utf8');
      assert.ok(
        composeText.includes(`./deploy/helm/warren/files/dashboards:${provider.providers[0]!.options.path}`),
        'docker-compose.yml mounts the dashboards elsewhere than the provider reads them',
      );
    }
  });
});

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
        return Number(consumers.series[0]?.value[1]) === 3 && Number(up.series[0]?.value[1]) === 4;
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
    assert.equal(activeTargets.length, 4);
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
        const r = await query(prom, `rabbitmq_queue_messages{${v}, queue=~".+\\\\.dlq"}`);
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

/** Orders of every kind, one after another until stopped: in stock, out of stock, declined, flaky, and invalid ones. */
function driveOrders(api: string): { stop: () => Promise<number> } {
  let running = true;
  let placed = 0;
  const kinds = [
    orderRequest({ items: [{ productId: 'OBS-IN', quantity: 1 }] }),
    orderRequest({ items: [{ productId: 'OBS-OUT', quantity: 1 }] }),
    orderRequest({ items: [{ productId: 'OBS-IN', quantity: 2 }], paymentToken: 'tok_decline' }),
    orderRequest({ items: [{ productId: 'OBS-IN', quantity: 1 }], paymentToken: 'tok_flaky' }),
    { ...orderRequest(), items: [] },
  ];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      // A customer per order: one customer would meet ORDER_RATE_LIMIT (120 a minute) and the rates would go quiet.
      const r = await http('POST', `${api}/orders`, { ...kinds[i % kinds.length], customerId: `obs-${i}` }).catch(() => undefined);
      if (r?.status === 202) {
        placed++;
        await http('GET', `${api}/orders/${r.body.orderId}`).catch(() => undefined);
      }
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return placed;
    },
  };
}

function sample(series: { metric: Record<string, string>; value: [number, string] }[]): string {
  const s = series.find((x) => Number.isFinite(Number(x.value[1])))!;
  const labels = Object.entries(s.metric)
    .filter(([k]) => !['instance', 'job'].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const value = Number(s.value[1]);
  return `{${labels}} ${Number.isInteger(value) ? value : value.toPrecision(3)}`;
}

async function ruleFiles(): Promise<string[]> {
  const dir = RULES_DIR;
  return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
}

async function testFiles(): Promise<string[]> {
  const dir = path.join(PROMETHEUS_DIR, 'tests');
  return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
