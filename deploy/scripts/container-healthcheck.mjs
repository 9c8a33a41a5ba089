// Container healthcheck without curl: GET <path> on this container's ops port, exit 0 on 200.
// Usage: node healthcheck.mjs [/healthz|/readyz]
// One container runs one service, so the service is read from PID 1's command line
// (`node dist/workers/run.js <service>`) and its ops port from the same variable the service reads.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

// Each service's ops-port variable and default. The image holds no source to read them from, so they are
// generated from workers/registry.ts by `npm run deploy:generate`:
const OPS_PORTS = {"order":{"env":"ORDER_OPS_PORT","port":9101},"inventory":{"env":"INVENTORY_OPS_PORT","port":9102},"payment":{"env":"PAYMENT_OPS_PORT","port":9103}};
const path = process.argv[2] ?? '/healthz';

function servicePorts() {
  let args = [];
  try {
    args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
  } catch {
    // Not Linux or no procfs: fall back to probing every service's port.
  }
  const names = Object.keys(OPS_PORTS);
  const service = args.find((arg) => names.includes(arg));
  const candidates = service ? [service] : names;
  return candidates.map((name) => Number(process.env[OPS_PORTS[name].env] ?? OPS_PORTS[name].port));
}

function probe(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const results = await Promise.all(servicePorts().map(probe));
process.exit(results.some(Boolean) ? 0 : 1);
