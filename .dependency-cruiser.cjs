/** The dependency rule, checked in CI: the domain stays pure, adapters stay behind ports. */
module.exports = {
  forbidden: [
    {
      name: 'domain-stays-pure',
      comment: 'shared/domain is pure logic: no adapters, runtime, cloud SDKs, onnxruntime, hono or duckdb.',
      severity: 'error',
      from: { path: '^shared/domain' },
      to: { path: ['^shared/(adapters|runtime|config|services)', '@google-cloud/', 'onnxruntime', 'hono', '@duckdb/', 'onnx-proto'] },
    },
    {
      name: 'ports-are-interfaces',
      comment: 'Ports declare what the platform needs; they never depend on a backend.',
      severity: 'error',
      from: { path: '^shared/ports' },
      to: { path: ['^shared/(adapters|runtime|services)', '@google-cloud/', 'onnxruntime', 'hono', '@duckdb/'] },
    },
    {
      name: 'services-use-ports',
      comment: 'Use cases work through ports; only the composition root builds adapters.',
      severity: 'error',
      from: { path: '^shared/services' },
      to: { path: ['^shared/adapters', '@google-cloud/', 'onnxruntime', '@duckdb/'] },
    },
    {
      name: 'functions-through-composition-root',
      comment: 'Function entries reach adapters only through shared/runtime.',
      severity: 'error',
      from: { path: '^functions' },
      to: { path: '^shared/adapters' },
    },
    {
      name: 'shared-never-imports-infra',
      comment: 'infra/ is the deployable stack built from shared facts (topics, tables); shared never reads infra back.',
      severity: 'error',
      from: { path: '^shared' },
      to: { path: '^infra' },
    },
    {
      name: 'domain-never-imports-ports',
      comment: 'Ports are declared in terms of domain types; the domain never depends on a port.',
      severity: 'error',
      from: { path: '^shared/domain' },
      to: { path: '^shared/ports' },
    },
    {
      name: 'backend-through-its-index',
      comment: 'Each backend folder under shared/adapters shows its public face in index.ts; other code imports only that.',
      severity: 'error',
      from: { pathNot: '^shared/adapters/' },
      to: { path: '^shared/adapters/[^/]+/', pathNot: '^shared/adapters/[^/]+/index\\.ts$' },
    },
    {
      name: 'backends-stay-apart',
      comment: 'A backend reaches another backend only through its index.',
      severity: 'error',
      from: { path: '^(shared/adapters/[^/]+)/' },
      to: { path: '^shared/adapters/[^/]+/', pathNot: ['^$1/', '^shared/adapters/[^/]+/index\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
