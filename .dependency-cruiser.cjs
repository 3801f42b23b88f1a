// Import rules (issue 12), checked by `npm run lint:imports`.
// The layers, bottom up: the pure core (checks, measurement, scoring, the document schemas) ->
// infrastructure and features (services/*) -> the composition root and the entry points that build
// it once per process (services/context.ts, services/api/server.ts and app.ts, workers/, bench/).

/** The pure grading core: no I/O, no other project module. Everything may import it; it imports nothing but itself and zod. */
const CORE = [
  // Every check (one module per check under services/checks/<family>/), the catalogue listing them,
  // the measure context, the metrics and the harness output contract they are measured from.
  '^services/checks/',
  '^services/grading/(scoring|score-drivers|measure|harness-output)\\.ts$',
  '^services/rubrics/rubric-schema\\.ts$',
  '^services/reports/report-schema\\.ts$',
  '^services/assessments/assessment-schema\\.ts$',
  // The closed lists of grading statuses and phases.
  '^services/submissions/grading-states\\.ts$',
  // The sandbox port: the interface and its closed outcome list, which reports record.
  '^services/sandbox/sandbox\\.ts$',
];

/** Where processes are put together; the only modules that may import the composition root. */
const COMPOSITION = ['^services/context\\.ts$', '^services/api/(server|app)\\.ts$', '^workers/', '^bench/', '^tests/'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycles',
      severity: 'error',
      comment: 'A module cycle: one of them should take what it needs as a parameter, or the shared piece should move down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      comment: 'Folders import each other in a circle: move the shared piece to the lower folder (the core, services/http, ...).',
      from: { path: '^(services|workers|bench|bin)/' },
      to: { circular: true },
    },
    {
      name: 'core-no-io',
      severity: 'error',
      comment: 'The core is pure: measuring, scoring and the schemas must run without files, network, processes, Postgres, Redis, Docker or HTTP.',
      from: { path: CORE },
      to: {
        path: [
          '^(node:)?(fs|fs/promises|net|dns|http|https|child_process|os|stream|stream/promises|worker_threads|cluster|dgram|tls)$',
          '^node_modules/(pg|ioredis|bullmq|dockerode|fastify|@fastify|pino|tar-stream|yauzl)/',
        ],
      },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment: 'The core depends on nothing above it; only other core modules and zod.',
      from: { path: CORE },
      to: { pathNot: [...CORE, '^node_modules/zod/'] },
    },
    {
      name: 'features-not-to-composition-root',
      severity: 'error',
      comment: 'Features receive the narrow dependencies they use (see GraderDeps); only entry points build or read the composition root.',
      from: { pathNot: COMPOSITION },
      to: { path: '^services/context\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file or an installed package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a feature typed with the whole Context still depends on the wiring.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
