import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait';
import { ApiProber } from './api-prober';
import { CHART, phase, RELEASE, say, SERVICES } from './helm-release';
import type { HelmSession } from './helm-session';

/**
 * Running the release under load: a rolling upgrade and killed workers lose and double nothing; a scale-up.
 */
export function operateSteps(s: HelmSession): void {
  const { releasePods, allReady, underLoad } = s;

  it('rolls every Deployment on a config change under load, losing and doubling nothing', async () => {
    const before = new Set((await releasePods()).map((p) => p.name));
    const prober = await ApiProber.start(s.kube);
    await underLoad('rolling upgrade', () =>
      phase('rolling upgrade (helm upgrade --set config.LOG_LEVEL=debug --wait)', () =>
        s.kube.helm(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'config.LOG_LEVEL=debug', '--wait', '--timeout', '5m'], 360_000),
      ),
    );
    const after = await releasePods();
    assert.ok(
      after.filter((p) => !p.terminating).every((p) => !before.has(p.name)),
      `pods not replaced: ${after.map((p) => p.name).join(', ')}`,
    );
    const config = await s.kube.json(['get', 'configmap', `${RELEASE}-config`]);
    assert.equal(config.data.LOG_LEVEL, 'debug');
    const answers = await prober.stop();
    say(
      `rolling upgrade: the order API through its Service answered new connections ${JSON.stringify(answers.fresh)}, kept-alive ones ${JSON.stringify(answers.kept)}`,
    );
    ApiProber.assertGraceful(answers);
  });

  it('survives a payment and an inventory pod killed under load', async () => {
    await underLoad('workers killed', async () => {
      const pods = await releasePods();
      const victims = ['payment', 'inventory'].map((c) => pods.find((p) => p.component === c && p.ready)!.name);
      await phase('killed pods replaced and Ready', async () => {
        await s.kube.kubectl(['delete', 'pod', ...victims, '--grace-period=0', '--force']);
        await waitFor('the killed pods replaced and every pod Ready', () => allReady(SERVICES.length * 2), 180_000, 500);
      });
    });
  });

  it('scales inventory to 4 replicas with helm upgrade', async () => {
    await phase('scale inventory to 4 Ready', async () => {
      await s.kube.helm(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'services.inventory.replicas=4']);
      await waitFor(
        '4 inventory pods Ready',
        async () => (await releasePods()).filter((p) => p.component === 'inventory' && p.ready).length === 4 || undefined,
        180_000,
        500,
      );
    });
  });
}
