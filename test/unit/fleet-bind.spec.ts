import assert from 'node:assert/strict';
import { fleetEnv } from '../../workers/fleet';
import { loadFleetConfig } from '../../workers/registry';

describe('npm run fleet: a laptop fleet stays on the loopback interface', () => {
  it('binds the ops servers and the order API to 127.0.0.1 unless OPS_HOST / API_HOST say otherwise', () => {
    const config = loadFleetConfig(fleetEnv({}));
    assert.deepEqual([config.opsHost, config.apiHost], ['127.0.0.1', '127.0.0.1']);
    const told = loadFleetConfig(fleetEnv({ OPS_HOST: '0.0.0.0', API_HOST: '10.0.0.7' }));
    assert.deepEqual([told.opsHost, told.apiHost], ['0.0.0.0', '10.0.0.7']);
  });

  it('a container or pod (no fleet runner) binds every interface by default, as probes and Prometheus need', () => {
    const config = loadFleetConfig({});
    assert.deepEqual([config.opsHost, config.apiHost], ['0.0.0.0', '0.0.0.0']);
  });
});
