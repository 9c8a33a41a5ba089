import assert from 'node:assert/strict';
import { SERVICE_NAMES } from '../../workers/registry';
import { byKind, OPERATOR_CRDS, renderChart } from './tools';

const KEDA = 'ci/all-features-keda-values.yaml';
const HPA = 'ci/all-features-hpa-values.yaml';

/** The chart on clusters: several broker endpoints, Redis under Sentinel, missing CRDs, autoscaled start sizes. */
describe('deploy: Helm chart on a cluster', function () {
  this.timeout(60_000);

  it('takes several AMQP endpoints per service and Redis Sentinel endpoints, and sets them as given', async () => {
    const urls = 'amqp://warren-order:pw@rabbit-0.rabbit:5672/warren,amqp://warren-order:pw@rabbit-1.rabbit:5672/warren';
    const manifests = await renderChart(
      [],
      [
        'secrets.existingSecret=',
        'secrets.redisUrl=redis://:pw@ignored:6379',
        'secrets.paymentTokenKeys=k1:Y2ktbm90LWEtcmVhbC1rZXktMDAwMDAwMDAwMDAwMDA=',
        'secrets.opsToken=ci-not-a-real-ops-token-0000000000000000',
        `secrets.amqpUrls.order=${urls.replace(/,/g, '\\,')}`,
        ...SERVICE_NAMES.filter((n) => n !== 'order').map((n) => `secrets.amqpUrls.${n}=amqp://warren-${n}:pw@rabbit:5672/warren`),
        'secrets.topologyAmqpUrl=amqp://warren-admin:pw@rabbit:5672/warren',
        'config.REDIS_SENTINELS=sentinel-0.sentinel:26379\\,sentinel-1.sentinel:26379\\,sentinel-2.sentinel:26379',
        'config.REDIS_SENTINEL_NAME=warren',
      ],
    );
    const config = byKind(manifests, 'ConfigMap').find((m) => m.metadata.name === 'warren-config');
    assert.equal(config?.data?.['REDIS_SENTINELS'], 'sentinel-0.sentinel:26379,sentinel-1.sentinel:26379,sentinel-2.sentinel:26379');
    assert.equal(config?.data?.['REDIS_SENTINEL_NAME'], 'warren');
    const secret = byKind(manifests, 'Secret')[0];
    const stored = secret?.stringData?.['order-amqp-url'] ?? Buffer.from(secret?.data?.['order-amqp-url'] ?? '', 'base64').toString();
    assert.equal(stored, urls);
  });

  const refused: [string[], RegExp][] = [
    [['config.REDIS_SENTINELS=sentinel-0'], /REDIS_SENTINELS/],
    [['config.REDIS_SENTINELS=sentinel-0:26379'], /config\.REDIS_SENTINEL_NAME is required with config\.REDIS_SENTINELS/],
    [['config.REDIS_SENTINEL_NAME=warren'], /config\.REDIS_SENTINELS is required with config\.REDIS_SENTINEL_NAME/],
    [['secrets.existingSecret=', 'secrets.redisUrl=redis://x', 'secrets.amqpUrls.order=amqp://a/warren\\,http://b/warren'], /order/],
  ];
  for (const [sets, message] of refused) {
    it(`refuses ${sets.join(' ')}`, async () => {
      await assert.rejects(renderChart([], sets), message);
    });
  }

  const crds: [string, string, string[], RegExp][] = [
    [
      'ServiceMonitor',
      'monitoring.coreos.com/v1/ServiceMonitor',
      ['metrics.serviceMonitor.enabled=true'],
      /metrics\.serviceMonitor\.enabled=false/,
    ],
    [
      'PrometheusRule',
      'monitoring.coreos.com/v1/PrometheusRule',
      ['metrics.prometheusRule.enabled=true'],
      /metrics\.prometheusRule\.enabled=false/,
    ],
    [
      'ScaledObject',
      'keda.sh/v1alpha1/ScaledObject',
      ['autoscaling.engine=keda', 'serviceDefaults.autoscaling.enabled=true'],
      /autoscaling\.engine=hpa/,
    ],
    ['RabbitmqCluster', 'rabbitmq.com/v1beta1/RabbitmqCluster', [], /rabbitmqCluster\.enabled=false/],
  ];
  for (const [kind, apiVersion, sets, turnOff] of crds) {
    it(`fails with its own message when ${kind} is on and its CRD is missing`, async () => {
      const others = OPERATOR_CRDS.filter((v) => v !== apiVersion);
      const values = kind === 'RabbitmqCluster' ? [KEDA] : [];
      await assert.rejects(renderChart(values, sets, others), (error: Error) => {
        assert.match(error.message, new RegExp(`this cluster has no ${kind} .*CRD \\(${apiVersion.replace(/\./g, '\\.')}\\)`));
        assert.match(error.message, turnOff);
        assert.doesNotMatch(error.message, /no matches for kind|resource mapping not found/);
        return true;
      });
    });
  }

  it('renders without asking for CRDs when checkCrds=false (helm lint, GitOps renderers)', async () => {
    const manifests = await renderChart([KEDA], ['checkCrds=false'], []);
    assert.equal(byKind(manifests, 'ScaledObject').length, SERVICE_NAMES.length);
    assert.equal(byKind(manifests, 'RabbitmqCluster').length, 1);
  });

  for (const values of [KEDA, HPA]) {
    it(`starts an autoscaled Deployment at the autoscaler's minimum (${values})`, async () => {
      const manifests = await renderChart(
        [values],
        ['services.payment.autoscaling.minReplicas=3', 'services.payment.autoscaling.maxReplicas=5'],
      );
      const deployment = byKind(manifests, 'Deployment').find((d) => d.metadata.name === 'warren-payment');
      const scaler = [...byKind(manifests, 'HorizontalPodAutoscaler'), ...byKind(manifests, 'ScaledObject')].find(
        (s) => s.metadata.name === 'warren-payment',
      );
      const min = scaler?.spec?.minReplicas ?? scaler?.spec?.minReplicaCount;
      assert.equal(min, 3);
      assert.equal(deployment?.spec?.replicas, 3);
    });
  }
});
