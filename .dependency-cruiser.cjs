// The import rules of src/, checked by `npm test` (and `npm run lint:deps`) with dependency-cruiser:
// no import circles, and no import that runs up the layers below. A module may import from its own
// layer and from the layers under it. README.md ("Layout") shows the same order.
/** Layers from the bottom up: path patterns (regular expressions on the file path). */
const LAYERS = [
  { name: 'vocabulary', paths: ['^src/vocabulary\\.ts$', '^src/errors\\.ts$', '^src/util/', '^src/types/'] },
  { name: 'config and log', paths: ['^src/config/', '^src/log/'] },
  { name: 'redis protocol', paths: ['^src/redis/'] },
  { name: 'site databases and realtime', paths: ['^src/db/', '^src/realtime/'] },
  { name: 'job code (load, execute, run inline)', paths: ['^src/jobs/'] },
  { name: 'producer', paths: ['^src/queue/'] },
  { name: 'scheduler', paths: ['^src/scheduler/'] },
  { name: 'monitoring', paths: ['^src/monitor/'] },
  { name: 'client facade', paths: ['^src/client\\.ts$'] },
  { name: 'worker and bench processes', paths: ['^src/worker/', '^src/bench/'] },
  { name: 'dashboard (HTTP server, API, metrics)', paths: ['^src/dashboard/'] },
  { name: 'cli', paths: ['^src/cli/'] },
  { name: 'library entry', paths: ['^src/index\\.ts$'] },
];

const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${i + 1}-imports-up`,
  severity: 'error',
  comment: `"${layer.name}" (layer ${i + 1}) may import only from its own layer and those under it`,
  from: { path: layer.paths },
  to: { path: LAYERS.slice(i + 1).flatMap((above) => above.paths) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import circle: modules that need each other cannot be understood, tested or loaded apart',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'vocabulary-is-a-leaf',
      severity: 'error',
      comment: 'src/vocabulary.ts holds the shared types and imports nothing of the project',
      from: { path: '^src/vocabulary\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'every-module-has-a-layer',
      severity: 'error',
      comment: 'a module of src/ outside every layer: add its folder to LAYERS in .dependency-cruiser.cjs',
      from: { path: '^src/', pathNot: LAYERS.flatMap((layer) => layer.paths) },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    // Type-only imports count: a circle through types is still a circle for a reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
