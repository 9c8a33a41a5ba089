import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import { SERVICE_NAMES } from '../../../workers/registry';
import { rabbitmqctl } from '../../helpers/broker';
import type { PermissionsFixture } from './fixture';

/**
 * The chart's definitions, from password hashes (docs/deploy.md's command) and from plaintext passwords: they
 * import, and every user logs in with its password and no other.
 */
export function chartDefinitionSteps(f: PermissionsFixture): void {
  it("the chart's definitions with password hashes (docs/deploy.md's command) import, and every user logs in with its password", async () => {
    // No password in what the chart rendered: each user a sha256 hash, which the broker checks a login against.
    for (const user of f.hashedUsers) {
      assert.deepEqual(Object.keys(user).sort(), ['hashing_algorithm', 'name', 'password_hash', 'tags'], user.name);
      assert.equal((user as { hashing_algorithm?: string }).hashing_algorithm, 'rabbit_password_hashing_sha256');
    }
    // importDefinitions returned only once each user had logged in with its password; another's is refused.
    assert.deepEqual(Object.keys(f.hashedChartDefs.users).sort(), [...SERVICE_NAMES.map((s) => `warren-${s}`), 'warren-admin'].sort());
    for (const user of Object.keys(f.hashedChartDefs.users)) {
      const connection = await amqplib.connect(f.hashedChartDefs.url(user));
      await connection.close();
    }
    await assert.rejects(
      amqplib.connect(f.hashedChartDefs.url('warren-order', f.hashedChartDefs.passwords['warren-payment'])),
      /ACCESS_REFUSED|403/,
    );
    const listed = await rabbitmqctl('list_users');
    assert.match(listed, new RegExp(`${f.hashedChartDefs.users['warren-admin']}\\s+\\[administrator\\]`));
  });

  it("the chart's definitions (plaintext passwords in a Secret) import, and every user logs in with its password", async () => {
    // importDefinitions returned only once each user had logged in; the operator keeps its management tag.
    const listed = await rabbitmqctl('list_users');
    assert.match(listed, new RegExp(`${f.chartDefs.users['warren-admin']}\\s+\\[administrator\\]`));
  });
}
