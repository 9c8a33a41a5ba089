import assert from 'node:assert/strict';
import { REDIS_SERVICE_COMMANDS } from '../../deploy/generate/redis-acl';
import { RedisLibrary } from '../../shared/redis/script';
import { FLEET_LIBRARIES } from '../../workers/redis-functions';
// The services' code, whose modules define every library a service process calls.
import '../../workers/services';

describe('Redis functions: the fleet libraries and the service ACL', () => {
  it('the operator loads every library the services define', () => {
    const defined = RedisLibrary.all()
      .map((l) => l.name)
      .sort();
    assert.deepEqual(FLEET_LIBRARIES.map((l) => l.name).sort(), defined);
  });

  it('gives service users no Lua of their own and no database switch', () => {
    const commands: readonly string[] = REDIS_SERVICE_COMMANDS;
    for (const forbidden of ['eval', 'eval_ro', 'evalsha', 'evalsha_ro', 'script', 'function', 'select', '@scripting', '@all'])
      assert.ok(!commands.includes(forbidden), forbidden);
    assert.ok(commands.includes('fcall') && commands.includes('fcall_ro'));
  });

  it('allows every command a function runs (the ACL checks commands inside a function too)', () => {
    for (const library of FLEET_LIBRARIES)
      for (const [, command] of library.code.matchAll(/redis\.call\('([A-Za-z]+)'/g))
        assert.ok(REDIS_SERVICE_COMMANDS.includes(command!.toLowerCase() as never), `${library.module} runs ${command}`);
  });

  it('names libraries and functions after their content, so two releases never call each other’s code', () => {
    for (const library of FLEET_LIBRARIES) {
      assert.match(library.name, new RegExp(`^warren_${library.module}_[0-9a-f]{16}$`));
      assert.ok(library.code.startsWith(`#!lua name=${library.name}\n`));
      assert.ok(library.code.includes(`function_name = '${library.probe}'`));
    }
  });
});
