/**
 * The release the Kubernetes suite (helm.test.ts) installs and what it knows of it: names, the services the chart
 * ranges over, label selectors for their pods, and the suite's timed phases and progress lines.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './cluster';

export const NAMESPACE = 'shop';
export const RELEASE = 'warren';
export const DOCS = 'docs/deploy.md';
export const CHART = 'deploy/helm/warren';
/** The services the chart ranges over (its files/services.json), each with its ops port and maybe an API port. */
export const SERVICES: { name: string; ops: { default: number }; api?: { default: number } }[] = JSON.parse(
  readFileSync(path.join(REPO, CHART, 'files/services.json'), 'utf8'),
).services;
export const RELEASE_PODS = `app.kubernetes.io/instance=${RELEASE}`;
/** The services' pods (not the topology Job's, which completes and is never Ready). */
export const SERVICE_PODS = `${RELEASE_PODS},app.kubernetes.io/component in (${SERVICES.map((s) => s.name).join(',')})`;
/** Orders per second while pods roll or die. */
export const LOAD_RATE = 10;

export const phase = async <T>(label: string, body: () => Promise<T>): Promise<T> => {
  const start = Date.now();
  const result = await body();
  console.log(`      [k8s] phase ${label} ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
};
export const say = (line: string) => console.log(`      [k8s] ${line}`);
