/**
 * The chart renders the helm-chart-*.test.ts files check, and what they read of a render. Each render is made once
 * per mocha process however many files ask for it: the chart does not change during a run, and `helm template` is
 * the slow part of these suites.
 */
import { mountedCredentials } from './pod-credentials';
import { byKind, MINIMAL_VALUES, renderChart, type Manifest } from './tools';

/** The renders CI checks: defaults, and every optional feature on (once per autoscaling engine). */
export const RENDERS: Record<string, string[]> = {
  'defaults and the settings the image requires': [MINIMAL_VALUES],
  'all features, KEDA, RabbitmqCluster': ['ci/all-features-keda-values.yaml'],
  'all features, HPA, external broker': ['ci/all-features-hpa-values.yaml'],
  'all features, KEDA, RabbitmqCluster with password hashes': [
    'ci/all-features-keda-values.yaml',
    'ci/rabbitmq-password-hashes-values.yaml',
  ],
};

let all: Promise<Record<string, Manifest[]>> | undefined;

/** Every render of {@link RENDERS} by name, rendered one after the other on first use. */
export function renderAll(): Promise<Record<string, Manifest[]>> {
  all ??= (async () => {
    const rendered: Record<string, Manifest[]> = {};
    for (const [name, files] of Object.entries(RENDERS)) rendered[name] = await renderChart(files);
    return rendered;
  })();
  return all;
}

/** The pods the chart runs: each Deployment's and each Job's, with what runs them. */
export const podsOf = (manifests: readonly Manifest[]) =>
  [...byKind(manifests, 'Deployment'), ...byKind(manifests, 'Job')].map((m) => ({
    name: `${m.kind}/${m.metadata.name}`,
    pod: m.spec.template.spec,
    container: m.spec.template.spec.containers[0],
  }));

/** The Secret key each file variable of a container comes from: {AMQP_URL: 'order-amqp-url', ...}. */
export const credentialKeys = (pod: unknown, container: unknown) =>
  Object.fromEntries(mountedCredentials(pod, container).map((c) => [c.variable, c.key]));
