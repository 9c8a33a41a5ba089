import { helmSession } from './helm-session';
import { installSteps } from './install-steps';
import { operateSteps } from './operate-steps';
import { reinstallSteps } from './reinstall-steps';

/**
 * The Helm chart on a real Kubernetes, installed the way docs/deploy.md says: its own shell blocks run against a
 * namespace `shop` that holds what the docs assume (a broker loaded with the chart's definitions, Redis with a
 * password, an identity provider), then the fleet is checked from outside through `kubectl port-forward` (so it runs
 * on any cluster): probes, orders with real JWTs, a rolling upgrade and killed workers under load, a scale-up, and
 * both install paths' uninstall. KUBECONFIG's cluster is used as it is; without it, the local one-node cluster of
 * ../shared/k8s (test/k8s/local-cluster.sh), stopped again at the end if this run started it.
 */
describe('Kubernetes: the Helm chart installed as docs/deploy.md says', function () {
  this.timeout(900_000);
  // The run (cluster, images, backing services, clean-up) is helm-session.ts; its phases, in this order, are the
  // install, operate and reinstall steps beside it.
  const s = helmSession();

  installSteps(s);
  operateSteps(s);
  reinstallSteps(s);
});
