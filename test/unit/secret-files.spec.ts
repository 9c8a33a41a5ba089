import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../shared/config/config';
import { loadBrokerConfig } from '../../shared/config/config';
import { loadFleetConfig } from '../../workers/registry';

const SECRET = 'a-secret-of-at-least-32-characters!!';

describe('config: secrets from mounted files (<NAME>_FILE)', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const at = path.join(dir, name);
    writeFileSync(at, content);
    return at;
  };
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'warren-secrets-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads each secret variable from its file, without the trailing newline', () => {
    const config = loadFleetConfig({
      AMQP_URL_FILE: file('amqp', 'amqp://warren-order:s3cret@rabbitmq:5672/warren\n'),
      REDIS_URL_FILE: file('redis', 'redis://warren-order:r3dis@redis:6379\n'),
      AUTH_MODE: 'hs256',
      OPS_TOKEN_FILE: file('ops', `${SECRET}\n`),
      AUTH_JWT_SECRET_FILE: file('jwt', `${SECRET}x\n`),
    });
    assert.equal(config.amqpUrl, 'amqp://warren-order:s3cret@rabbitmq:5672/warren');
    assert.equal(config.redisUrl, 'redis://warren-order:r3dis@redis:6379');
    assert.equal(config.auth.mode === 'hs256' && config.auth.opsToken, SECRET);
    assert.equal(config.auth.mode === 'hs256' && config.auth.secret, `${SECRET}x`);
    assert.equal(
      loadBrokerConfig({ AMQP_URL_FILE: file('admin', 'amqp://warren-admin:a@rabbitmq/warren') }).amqpUrl,
      'amqp://warren-admin:a@rabbitmq/warren',
    );
  });

  it('refuses both a variable and its file, a missing file and an empty one, naming the variable and never the content', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { OPS_TOKEN: SECRET, OPS_TOKEN_FILE: file('ops', SECRET), AUTH_MODE: 'off' },
        /^Invalid configuration: OPS_TOKEN: set OPS_TOKEN or OPS_TOKEN_FILE, not both$/,
      ],
      [{ REDIS_URL_FILE: path.join(dir, 'absent') }, /^Invalid configuration: REDIS_URL_FILE: cannot read .*absent \(ENOENT\)$/],
      [{ AMQP_URL_FILE: file('empty', '\n') }, /^Invalid configuration: AMQP_URL_FILE: .* is empty$/],
    ];
    for (const [env, message] of cases)
      assert.throws(
        () => loadFleetConfig(env),
        (e: Error) => e instanceof ConfigError && message.test(e.message) && !e.message.includes(SECRET),
        JSON.stringify(env),
      );
  });

  it('a file secret gets the same checks as one from the environment (a published placeholder in production)', () => {
    assert.throws(
      () =>
        loadFleetConfig({
          NODE_ENV: 'production',
          PRICE_LIST: 'off',
          AUTH_MODE: 'off',
          AMQP_URL_FILE: file('amqp', 'amqp://warren-order:dev-only-order@rabbitmq:5672/warren'),
        }),
      /AMQP_URL: its password is a published placeholder/,
    );
  });
});
