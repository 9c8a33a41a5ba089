import { waitFor } from '../helpers/wait';
import { phase } from './helm-release';
import type { HelmSession } from './helm-session';

/**
 * Uninstalling as the docs say, then path 2 (the chart makes the Secret): install, try it, uninstall.
 */
export function reinstallSteps(s: HelmSession): void {
  const { docs, releasePods, checkInstalled, closeForwards } = s;

  it('uninstalls as the docs say, leaving no pod of the release', async () => {
    closeForwards();
    await phase('path 1: helm uninstall', async () => {
      await docs(['helm-uninstall']);
      await waitFor('no pod of the release left', async () => (await releasePods()).length === 0 || undefined, 120_000, 1000);
    });
  });

  it('installs with the chart making the Secret, as the docs say; try it; uninstall', async () => {
    // Path 1's Secret stays (helm uninstall leaves a Secret the user made); the chart's own has another name.
    await phase('path 2: chart-made Secret, helm install, try it', () => docs(['helm-values', 'helm-chart-secret', 'helm-try']));
    await checkInstalled('path 2');
    await phase('path 2: helm uninstall', async () => {
      await docs(['helm-uninstall']);
      await waitFor('no pod of the release left', async () => (await releasePods()).length === 0 || undefined, 120_000, 1000);
    });
  });
}
