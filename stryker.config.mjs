// Mutation testing of the core, on demand: `npm run test:mutation` (never part of `npm test` or CI's time budget).
// Scores per folder and the surviving mutants, with why each one stays, are in docs/testing.md ("Mutation testing").
//
// One folder at a time (its own reports under reports/mutation/): `WARREN_MUTATE=shared/events npm run test:mutation`.
//
// The command runner, not @stryker-mutator/mocha-runner: its 10.1.1 cannot load Mocha 12.0.3, whose CLI internals it
// requires by extensionless path are `.cjs` files now (stryker-js PR #6205, open). So no per-test coverage: every mutant
// runs one mocha process over the specs that test its folder, stopping at the first failure (`--bail`).

/** The publisher's specs, one concern each (they were one publisher.spec.ts). */
const PUBLISHER_SPECS = ['publisher-lifecycle', 'publisher-confirms', 'publisher-buffer', 'publisher-channel-flow', 'publisher-events'];

/** The consumer's specs, one concern each (they were one consumer.spec.ts). */
const CONSUMER_SPECS = [
  'consumer-lifecycle',
  'consumer-ack',
  'consumer-context',
  'consumer-unreadable',
  'consumer-dead-letter',
  'consumer-retry',
  'consumer-failure-copy',
];

/** Subscription's specs, one concern each (they were one subscription.spec.ts). */
const SUBSCRIPTION_SPECS = [
  'subscription-consume',
  'subscription-recovery',
  'subscription-deadline',
  'subscription-missing-topology',
  'subscription-pause',
  'subscription-stop',
];

/** Each core folder and the specs that test it, fast and pure ones first. */
const FOLDERS = {
  'shared/messaging': [
    'retry-policy',
    'topology',
    'topology-drift',
    'topology-check',
    'topology-watch',
    'trusted-headers',
    'ack-batcher',
    'coalesce-writes',
    'connection',
    ...SUBSCRIPTION_SPECS,
    'observing-middleware',
    'events',
    'payment-token',
    'contracts',
    'kill-switch',
    ...PUBLISHER_SPECS,
    'publisher-edges',
    ...CONSUMER_SPECS,
    'consumer-edges',
    'consumer-recovery',
    'handler-timeout',
    'idempotency-middleware',
    'hostile-bus',
  ],
  // ClaimStore is Redis: its test is the integration one against REDIS_URL (the local Redis, 127.0.0.1:6379).
  'shared/idempotency': ['idempotency-middleware', 'test/integration/claim-lease.test.ts'],
  'shared/events': [
    'events',
    'payment-token',
    'contracts',
    'hostile-bus',
    ...PUBLISHER_SPECS,
    ...CONSUMER_SPECS,
    'idempotency-middleware',
    'saga-runner',
  ],
  'workers/order/domain': ['order-saga', 'saga-runner', 'hostile-bus'],
  'workers/inventory/domain': ['stock'],
  'workers/payment/domain': ['payment', 'hostile-bus'],
};

const only = process.env.WARREN_MUTATE;
if (only !== undefined && !(only in FOLDERS)) {
  throw new Error(`WARREN_MUTATE=${only} is not a core folder; one of: ${Object.keys(FOLDERS).join(', ')}`);
}
const folders = only ? [only] : Object.keys(FOLDERS);
const specPath = (spec) => (spec.includes('/') ? spec : `test/unit/${spec}.spec.ts`);
// Unit specs first, the Redis one last: with --bail, a mutant a unit spec kills never waits for Redis.
const specs = [...new Set(folders.flatMap((folder) => FOLDERS[folder].map(specPath)))].sort(
  (a, b) => Number(a.startsWith('test/integration/')) - Number(b.startsWith('test/integration/')),
);
const reportName = only ? only.replaceAll('/', '-') : 'core';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  // .mocharc.json still applies (tsx/cjs, --exit); the reporter's output is only read for a failure.
  commandRunner: { command: `node node_modules/mocha/bin/mocha.js --bail --reporter dot ${specs.join(' ')}` },
  coverageAnalysis: 'off',
  mutate: folders.map((folder) => `${folder}/**/*.ts`),
  // The sandbox is a copy of the repository: not the Node toolchain (.tools, 235 MB) nor the build output.
  ignorePatterns: ['/.tools', '/dist'],
  // The machine is shared: one test process at a time, and room for a slow turn before a mutant counts as a timeout.
  concurrency: 1,
  timeoutMS: 15_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${reportName}.html` },
  jsonReporter: { fileName: `reports/mutation/${reportName}.json` },
  clearTextReporter: { allowEmojis: false, reportMutants: true, reportTests: false },
  thresholds: { high: 80, low: 60, break: null },
  tempDirName: '.stryker-tmp',
};
