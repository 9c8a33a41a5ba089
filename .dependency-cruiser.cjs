// Import rules checked by `npm run lint` (dependency-cruiser): no import circle anywhere, and shared/ as a one-way
// stack. Each folder of shared/ may import only folders below it in LAYERS, so the order below is the map of the
// library: errors and parsing at the bottom, the runtime and its documents near the top, the CLIs last.
const LAYERS = [
  'errors', // the error classes every layer throws (messaging's retry policy reads them)
  'money',
  'security', // token key rings and sealing: pure crypto
  'config', // the environment, read once; imports nothing above it
  'events', // the event catalog and codec
  'observability',
  'redis',
  'idempotency',
  'messaging',
  'topology', // the operator's side of the broker topology
  'dlq',
  'auth',
  'http',
  'lifecycle', // the service declaration and the runtime that wires a service
  'documents', // the AsyncAPI / OpenAPI document builders (npm run contracts)
  'cli',
];

const above = (i) => LAYERS.slice(i + 1);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: two modules that need each other are one module, or one of them is in the wrong layer.',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `shared-${layer}-imports-down`,
      severity: 'error',
      comment: `shared/${layer} imports only the layers below it (.dependency-cruiser.cjs LAYERS).`,
      from: { path: `^shared/${layer}/` },
      to: { path: `^shared/(${above(i).join('|')})/` },
    })),
    {
      name: 'shared-imports-no-service',
      severity: 'error',
      comment: "Warren's library knows no service, test or deploy file: they import it, never the other way.",
      from: { path: '^shared/' },
      to: { path: '^(workers|test|deploy)/' },
    },
    {
      name: 'services-meet-at-events',
      severity: 'error',
      comment: "A service reads another only through its events.ts (the contract it publishes), never its code or store.",
      from: { path: '^workers/([^/]+)/' },
      to: { path: '^workers/[^/]+/', pathNot: ['^workers/$1/', '^workers/[^/]+/events\\.ts$'] },
    },
    {
      name: 'shared-folders-are-layers',
      severity: 'error',
      comment: 'Every folder of shared/ has a place in LAYERS.',
      from: { path: '^shared/' },
      to: { path: `^shared/`, pathNot: `^shared/(${LAYERS.join('|')})/` },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a circle through types is still two modules that cannot be read apart.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|\\.tools|\\.stryker-tmp|reports|test/new-service/parcel-fixture)/' },
  },
};
