import assert from 'node:assert/strict';
import { renderChart } from './tools';

// Values the chart refuses at install, each naming what is wrong: a refusal here is an operator told at `helm install`
// rather than a pod that fails later.
describe('deploy: Helm chart', function () {
  this.timeout(60_000);

  it('refuses TLS without its Secret, and chart-made credentials without payment-token keys', async () => {
    await assert.rejects(renderChart([], ['tls.enabled=true']), /tls\.existingSecret is required/);
    await assert.rejects(
      renderChart(['ci/all-features-keda-values.yaml'], ['secrets.paymentTokenKeys=']),
      /secrets\.paymentTokenKeys is required/,
    );
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['secrets.paymentTokenKeys=k1:short']), /paymentTokenKeys/);
    // Authentication: chart-made credentials need the ops token in every AUTH_MODE (without it the ops ports' admin
    // routes answer anyone); the image refuses hs256 (the development identity), so the chart does too.
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['secrets.opsToken=']), /secrets\.opsToken is required/);
    await assert.rejects(
      renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=off', 'secrets.opsToken=']),
      /secrets\.opsToken is required/,
    );
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=hs256']), /AUTH_MODE/);
    await assert.rejects(renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=basic']), /AUTH_MODE/);
    await renderChart(['ci/all-features-keda-values.yaml'], ['config.AUTH_MODE=off']);
    await assert.rejects(
      renderChart(['ci/all-features-hpa-values.yaml'], ['secrets.redisUrls.payment=']),
      /secrets\.redisUrls\.payment is required/,
    );
  });

  describe('values.schema.json refuses bad values at install', () => {
    const refused: [string, RegExp][] = [
      ['config.QUEUE_TYPE=mirrored', /QUEUE_TYPE/],
      ['config.NOT_A_WARREN_VARIABLE=1', /NOT_A_WARREN_VARIABLE/],
      ['config.ORDER_OPS_PORT=70000', /ORDER_OPS_PORT/],
      ['config.PAYMENT_GATEWAY_FAILURE_RATE=1.5', /PAYMENT_GATEWAY_FAILURE_RATE/],
      ['services.inventory.replicas=-1', /replicas/],
      ['services.invetnory.replicas=1', /invetnory/],
      ['autoscaling.engine=cron', /engine/],
      ['rabbitmqCluster.passwordz.order=x', /passwordz/],
    ];
    for (const [set, message] of refused) {
      it(`--set ${set}`, async () => {
        await assert.rejects(renderChart([], [set]), message);
      });
    }

    it('fails when the grace period cannot cover preStop + SHUTDOWN_TIMEOUT_MS', async () => {
      await assert.rejects(renderChart([], ['services.order.preStopSleepSeconds=20']), /terminationGracePeriodSeconds/);
    });

    it('fails, naming the value, without a setting the image requires and no default can give', async () => {
      const bare = (sets: string[]) => renderChart([], sets, undefined, { bare: true });
      await assert.rejects(bare([]), /config\.AUTH_JWKS_URL is required with config\.AUTH_MODE=jwt/);
      await assert.rejects(bare(['config.AUTH_JWKS_URL=https://idp/jwks']), /config\.AUTH_AUDIENCE is required/);
      await assert.rejects(bare(['config.AUTH_JWKS_URL=https://idp/jwks', 'config.AUTH_AUDIENCE=a']), /config\.PRICE_LIST is required/);
      await assert.rejects(renderChart([], ['config.PRICE_LIST=P001=75']), /config\.PRICE_LIST must be a JSON object/);
      await renderChart([], ['config.AUTH_MODE=off', 'config.AUTH_JWKS_URL=', 'config.PRICE_LIST=off']);
    });

    it('fails when chart-managed credentials are incomplete', async () => {
      await assert.rejects(renderChart([], ['secrets.existingSecret=']), /secrets\.redisUrl is required/);
      await assert.rejects(
        renderChart(['ci/all-features-keda-values.yaml'], ['rabbitmqCluster.passwords.admin=']),
        /rabbitmqCluster\.passwordHashes\.admin is required .*rabbitmqCluster\.passwords\.admin/,
      );
      // The topology Job's URL is never built from an empty password.
      await assert.rejects(
        renderChart(['ci/all-features-hpa-values.yaml'], ['secrets.topologyAmqpUrl=']),
        /secrets\.topologyAmqpUrl \(the operator's URL, warren-admin, for the topology Job\) is required/,
      );
    });

    it('with password hashes, fails naming the AMQP URL the chart cannot build from a hash; refuses a hash that is none', async () => {
      const hashes = ['ci/all-features-keda-values.yaml', 'ci/rabbitmq-password-hashes-values.yaml'];
      await assert.rejects(
        renderChart(hashes, ['secrets.amqpUrls.payment=']),
        /secrets\.amqpUrls\.payment is required .*passwordHashes\.payment is a hash/,
      );
      await assert.rejects(
        renderChart(hashes, ['secrets.topologyAmqpUrl=']),
        /secrets\.topologyAmqpUrl is required .*passwordHashes\.admin is a hash/,
      );
      // From an existing Secret, the URLs need no value at all.
      await renderChart(hashes, ['secrets.existingSecret=warren-credentials', 'secrets.amqpUrls=null', 'secrets.topologyAmqpUrl=']);
      await assert.rejects(renderChart(hashes, ['rabbitmqCluster.passwordHashes.order=not-a-real-password-o']), /passwordHashes\/order/);
      const hash = 'k1Q6mBxGg2A6Fb61xvuneDG7H/7l6dHRzL6pJn8ZWyCy8eri';
      await assert.rejects(
        renderChart(['ci/all-features-keda-values.yaml'], [`rabbitmqCluster.passwordHashes.admin=${hash}`]),
        /rabbitmqCluster\.passwordHashes\.admin and rabbitmqCluster\.passwords\.admin are both set/,
      );
      await assert.rejects(renderChart([], ['podSecurityContext.fsGroup=null']), /fsGroup/);
    });
  });
});
