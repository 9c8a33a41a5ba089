import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../shared/config/config';
import { sentinelOptions } from '../../shared/redis/client';

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

describe('TLS file variables (AMQP_TLS_*, REDIS_TLS_*)', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'warren-tls-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA, certificate and key at start-up for amqps:// and rediss:// URLs', () => {
    const config = loadConfig({
      AMQP_URL: 'amqps://u:p@rabbit:5671/warren',
      AMQP_TLS_CA_FILE: file('ca.crt', PEM_CERT),
      AMQP_TLS_CERT_FILE: file('client.crt', PEM_CERT),
      AMQP_TLS_KEY_FILE: file('client.key', PEM_KEY),
      REDIS_URL: 'rediss://redis:6380',
      REDIS_TLS_CA_FILE: path.join(dir, 'ca.crt'),
    });
    assert.equal(config.amqpTls?.ca?.toString(), PEM_CERT);
    assert.equal(config.amqpTls?.key?.toString(), PEM_KEY);
    assert.deepEqual(Object.keys(config.redisTls ?? {}), ['ca']);
    assert.equal(loadConfig({}).amqpTls, undefined);
  });

  it('under Sentinel, the same CA and certificate reach the data nodes and the sentinels', () => {
    const files = { ca: Buffer.from(PEM_CERT), cert: Buffer.from(PEM_CERT), key: Buffer.from(PEM_KEY) };
    const options = sentinelOptions('rediss://u:pw@ignored:6379', { sentinels: [{ host: 's1', port: 26379 }], name: 'warren' }, files);
    assert.deepEqual(options.tls, files);
    assert.deepEqual(options.sentinelTLS, files);
    assert.equal(options.enableTLSForSentinelMode, true);
    assert.equal(
      sentinelOptions('redis://ignored:6379', { sentinels: [{ host: 's1', port: 26379 }], name: 'warren' }, files).tls,
      undefined,
    );
  });

  it('stops with one line naming the variable', () => {
    const ca = file('ca.crt', PEM_CERT);
    const cases: [Record<string, string>, string][] = [
      [
        { AMQP_URL: 'amqps://h', AMQP_TLS_CA_FILE: path.join(dir, 'missing.crt') },
        `AMQP_TLS_CA_FILE: cannot read ${dir}/missing.crt (ENOENT)`,
      ],
      [{ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: dir }, `REDIS_TLS_CA_FILE: cannot read ${dir} (EISDIR)`],
      [{ AMQP_URL: 'amqps://h', AMQP_TLS_CA_FILE: file('junk', 'hello') }, `AMQP_TLS_CA_FILE: ${dir}/junk holds no PEM certificate`],
      [{ AMQP_URL: 'amqps://h', AMQP_TLS_CERT_FILE: ca }, 'AMQP_TLS_KEY_FILE: required with AMQP_TLS_CERT_FILE'],
      [{ REDIS_URL: 'rediss://h', REDIS_TLS_KEY_FILE: file('k', PEM_KEY) }, 'REDIS_TLS_CERT_FILE: required with REDIS_TLS_KEY_FILE'],
      [{ REDIS_URL: 'rediss://h', REDIS_TLS_CERT_FILE: ca, REDIS_TLS_KEY_FILE: ca }, `REDIS_TLS_KEY_FILE: ${ca} holds no PEM private key`],
      [{ AMQP_TLS_CA_FILE: ca }, 'AMQP_TLS_CA_FILE: set, but AMQP_URL (amqps://) does not ask for TLS'],
      [{ REDIS_TLS_CA_FILE: ca }, 'REDIS_TLS_CA_FILE: set, but REDIS_URL (rediss://) does not ask for TLS'],
    ];
    for (const [env, why] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) =>
          error instanceof ConfigError && error.message === `Invalid configuration: ${why}` && !error.message.includes('\n'),
        why,
      );
    }
  });
});
