import assert from 'node:assert/strict';
import { mountedCredentials, secretKeyRefs } from './pod-credentials';
import { byKind, renderChart } from './tools';

/**
 * With a Redis user per service, no pod may load Warren's Redis functions: the chart's hook does, as the operator,
 * before the Deployments roll (templates/redis-functions-job.yaml).
 */
describe('Helm chart: the redis-functions hook', function () {
  this.timeout(120_000);

  it("loads the functions before install and upgrade with the operator's redis-url, only with per-service users", async () => {
    const perService = await renderChart(['ci/all-features-hpa-values.yaml']);
    const [job] = byKind(perService, 'Job').filter((j) => j.metadata.name.endsWith('-redis-functions'));
    assert.ok(job, 'no redis-functions Job');
    assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    const container = job.spec.template.spec.containers[0];
    assert.deepEqual(container.command, ['node', 'dist/workers/redis-functions.js', 'load']);
    // The operator's URL as a file, like the services' credentials: REDIS_URL_FILE, no secret in the environment.
    assert.deepEqual(secretKeyRefs(container), []);
    const [url, ...others] = mountedCredentials(job.spec.template.spec, container);
    assert.deepEqual([url?.variable, url?.key, url?.mode, url?.readOnly, others.length], ['REDIS_URL', 'redis-url', 0o440, true, 0]);
    // The chart-made Secret does not exist yet when pre-install hooks run: the URL comes in a hook Secret before the Job.
    const secret = byKind(perService, 'Secret').find((s) => s.metadata.name === url!.secret);
    assert.equal(secret?.metadata.annotations?.['helm.sh/hook-weight'], '-10');
    assert.equal(job.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem, true);

    await assert.rejects(
      renderChart(['ci/all-features-hpa-values.yaml'], ['secrets.redisUrl=']),
      /secrets\.redisUrl \(the operator's, for the redis-functions hook\) is required/,
    );
    const shared = await renderChart();
    assert.equal(
      byKind(shared, 'Job').filter((j) => j.metadata.name.endsWith('-redis-functions')).length,
      0,
      'services load them as the operator',
    );
  });
});
