import Ajv from 'ajv';
import type { Manifest } from './tools';

/** A kubernetes-models class: built from a manifest, `validate()` throws on a schema violation. */
type ModelClass = new (data: unknown) => { validate(): void };
const model = (m: unknown): ModelClass => m as ModelClass;

/**
 * Kubernetes' OpenAPI schemas as shipped by the kubernetes-models packages (core kinds, Prometheus Operator and
 * KEDA CRDs). Keyed by `apiVersion/kind`. They are ESM-only, hence the dynamic imports.
 */
const MODELS: Record<string, () => Promise<ModelClass>> = {
  'v1/ConfigMap': async () => model((await import('kubernetes-models/v1/ConfigMap')).ConfigMap),
  'v1/Secret': async () => model((await import('kubernetes-models/v1/Secret')).Secret),
  'v1/Service': async () => model((await import('kubernetes-models/v1/Service')).Service),
  'v1/ServiceAccount': async () => model((await import('kubernetes-models/v1/ServiceAccount')).ServiceAccount),
  'apps/v1/Deployment': async () => model((await import('kubernetes-models/apps/v1/Deployment')).Deployment),
  'batch/v1/Job': async () => model((await import('kubernetes-models/batch/v1/Job')).Job),
  'networking.k8s.io/v1/NetworkPolicy': async () =>
    model((await import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy')).NetworkPolicy),
  'policy/v1/PodDisruptionBudget': async () => model((await import('kubernetes-models/policy/v1/PodDisruptionBudget')).PodDisruptionBudget),
  'autoscaling/v2/HorizontalPodAutoscaler': async () =>
    model((await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler),
  'monitoring.coreos.com/v1/ServiceMonitor': async () =>
    model((await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor')).ServiceMonitor),
  'monitoring.coreos.com/v1/PrometheusRule': async () =>
    model((await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule')).PrometheusRule),
  'keda.sh/v1alpha1/ScaledObject': async () => model((await import('@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject')).ScaledObject),
  'keda.sh/v1alpha1/TriggerAuthentication': async () =>
    model((await import('@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication')).TriggerAuthentication),
};

const quantity = { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$' }] };
const resources = {
  type: 'object',
  additionalProperties: false,
  properties: { limits: { type: 'object', additionalProperties: quantity }, requests: { type: 'object', additionalProperties: quantity } },
};

/**
 * No npm package ships the RabbitMQ Cluster Operator's CRD schema, so this is a strict hand-written schema of the
 * RabbitmqCluster (rabbitmq.com/v1beta1) fields the chart uses, with the CRD's own limits (additionalConfig
 * maxLength 2000, plugin name pattern). The pod-spec pieces inside `override` are checked with the core
 * Container and Volume schemas below.
 */
const RABBITMQ_CLUSTER_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'rabbitmq.com/v1beta1' },
    kind: { const: 'RabbitmqCluster' },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
    spec: {
      type: 'object',
      additionalProperties: false,
      properties: {
        replicas: { type: 'integer', minimum: 0 },
        image: { type: 'string' },
        resources,
        persistence: {
          type: 'object',
          additionalProperties: false,
          properties: { storage: quantity, storageClassName: { type: 'string' } },
        },
        rabbitmq: {
          type: 'object',
          additionalProperties: false,
          properties: {
            additionalConfig: { type: 'string', maxLength: 2000 },
            additionalPlugins: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^\\w+$', maxLength: 100 } },
            advancedConfig: { type: 'string', maxLength: 100000 },
            envConfig: { type: 'string', maxLength: 100000 },
          },
        },
        override: {
          type: 'object',
          additionalProperties: false,
          properties: {
            statefulSet: {
              type: 'object',
              additionalProperties: false,
              properties: {
                spec: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    template: {
                      type: 'object',
                      additionalProperties: false,
                      properties: {
                        spec: {
                          type: 'object',
                          additionalProperties: false,
                          required: ['containers'],
                          properties: { containers: { type: 'array' }, volumes: { type: 'array' } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
const validateRabbitmqCluster = ajv.compile(RABBITMQ_CLUSTER_SCHEMA);

async function validateRabbitmqClusterManifest(m: Manifest): Promise<void> {
  if (!validateRabbitmqCluster(m as unknown))
    throw new Error(`RabbitmqCluster ${m.metadata.name}: ${ajv.errorsText(validateRabbitmqCluster.errors)}`);
  const podSpec = m.spec?.override?.statefulSet?.spec?.template?.spec ?? { containers: [] };
  const Container = model((await import('kubernetes-models/v1/Container')).Container);
  const Volume = model((await import('kubernetes-models/v1/Volume')).Volume);
  // The operator merges these into its StatefulSet; its own container needs no image here.
  for (const container of podSpec.containers as unknown[])
    new Container({ image: 'merged-by-operator', ...(container as object) }).validate();
  for (const volume of (podSpec.volumes ?? []) as unknown[]) new Volume(volume).validate();
}

/** Validates one rendered manifest; throws naming the object and the violation. Unknown kinds fail too. */
export async function validateManifest(m: Manifest): Promise<void> {
  if (m.apiVersion === 'rabbitmq.com/v1beta1' && m.kind === 'RabbitmqCluster') return validateRabbitmqClusterManifest(m);
  const load = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!load) throw new Error(`no schema for ${m.apiVersion} ${m.kind} (${m.metadata?.name}): add it to test/deploy/k8s-schemas.ts`);
  const Model = await load();
  try {
    new Model(m).validate();
  } catch (error) {
    throw new Error(`${m.kind} ${m.metadata.name} is invalid: ${(error as Error).message}`, { cause: error });
  }
}
