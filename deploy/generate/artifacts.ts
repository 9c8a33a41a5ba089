import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../shared/config/config';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { brokerDefinitions } from './broker-definitions';
import { hpaValues, kedaValues, passwordHashValues } from './chart-ci-values';
import { chartServices, valuesSchema } from './chart-files';
import { clusterComposeFile, composeFile, envExample, tlsComposeFile } from './compose-files';
import { dockerfile, healthcheck } from './image-files';
import { prometheusConfig } from './prometheus-config';
import { redisAclTemplate } from './redis-acl';

export const REPO = path.resolve(__dirname, '../..');
export const CHART_DIR = 'deploy/helm/warren';

/** A committed file derived from the service declarations. */
export interface Artifact {
  /** Relative to the repo. */
  path: string;
  /** The file's content for these services; `current` is the file as it is (for files only partly generated). */
  render(services: readonly ServiceDeclaration[], current: string): string;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
/** Helm reads values.schema.json, not the config, so the variables every service reads come from config.ts. */
const SHARED_VARIABLES: readonly string[] = CONFIG_VARIABLES;

export const ARTIFACTS: readonly Artifact[] = [
  { path: `${CHART_DIR}/files/rabbitmq/definitions.template.json`, render: (services) => json(brokerDefinitions(services)) },
  { path: `${CHART_DIR}/files/services.json`, render: (services) => json(chartServices(services)) },
  {
    path: `${CHART_DIR}/values.schema.json`,
    render: (services, current) => json(valuesSchema(services, JSON.parse(current), SHARED_VARIABLES)),
  },
  { path: 'deploy/prometheus/prometheus.yml', render: (services) => prometheusConfig(services) },
  { path: `${CHART_DIR}/files/redis/acl.template.json`, render: (services) => json(redisAclTemplate(services)) },
  { path: 'deploy/scripts/container-healthcheck.mjs', render: (services, current) => healthcheck(services, current) },
  { path: 'Dockerfile', render: (services, current) => dockerfile(services, current) },
  { path: 'docker-compose.yml', render: composeFile },
  { path: 'deploy/cluster/docker-compose.cluster.yml', render: clusterComposeFile },
  { path: 'deploy/tls/docker-compose.tls.yml', render: tlsComposeFile },
  { path: '.env.example', render: envExample },
  { path: `${CHART_DIR}/ci/all-features-hpa-values.yaml`, render: hpaValues },
  { path: `${CHART_DIR}/ci/all-features-keda-values.yaml`, render: kedaValues },
  { path: `${CHART_DIR}/ci/rabbitmq-password-hashes-values.yaml`, render: passwordHashValues },
];

/** Each artifact as it should be, read from (and relative to) `root`. */
export function renderAll(services: readonly ServiceDeclaration[], root = REPO): { path: string; current: string; wanted: string }[] {
  return ARTIFACTS.map((artifact) => {
    let current = '';
    try {
      current = readFileSync(path.join(root, artifact.path), 'utf8');
    } catch {
      // A file generated whole may not exist yet; one generated in part will fail to render without it.
    }
    return { path: artifact.path, current, wanted: artifact.render(services, current) };
  });
}
