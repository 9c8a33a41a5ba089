import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';

/** deploy/prometheus/prometheus.yml: compose's Prometheus, one DNS target per service at its declared ops port. */
export function prometheusConfig(services: readonly ServiceDeclaration[]): string {
  const targets = services
    .map((s) => `      - names: [${s.name}]\n        type: A\n        port: ${s.ops.default}\n        refresh_interval: 30s`)
    .join('\n');
  return `# Generated from workers/registry.ts by \`npm run deploy:generate\`; edit deploy/generate/prometheus-config.ts.
# Prometheus for the compose fleet (docker-compose.yml mounts this file at /etc/prometheus/prometheus.yml and the
# chart's files/rules beside it). Host names are compose service names. The same jobs, against local ports, are
# what test/observability/prometheus.test.ts runs against a real Prometheus.
global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 15s
  external_labels:
    system: warren

rule_files:
  - rules/*.yml

scrape_configs:
  # Every service's ops server. DNS discovery finds every replica of a scaled service
  # (\`docker compose up --scale inventory=3\`): the compose DNS name resolves to all of its containers. Every
  # warren_* series already carries its \`service\` label (set by the service itself), so the targets add none: a
  # target label of that name would rename it exported_service. \`instance\` reads "inventory@172.18.0.7:9102".
  - job_name: warren
    metrics_path: /metrics
    dns_sd_configs:
${targets}
    relabel_configs:
      - source_labels: [__meta_dns_name, __address__]
        separator: '@'
        target_label: instance

  # RabbitMQ's rabbitmq_prometheus plugin, per-object endpoint: one series per queue (ready, unacked, consumers),
  # so retry tiers and <queue>.dlq depths are visible. Names are rabbitmq_queue_*, the same as /metrics with
  # prometheus.return_per_object_metrics = true (what deploy/rabbitmq/rabbitmq.conf and the Helm chart scrape).
  - job_name: rabbitmq
    metrics_path: /metrics/per-object
    static_configs:
      - targets: ['rabbitmq:15692']

  - job_name: prometheus
    static_configs:
      - targets: ['localhost:9090']
`;
}
