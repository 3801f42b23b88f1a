import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The Docker-engine fault case runs on its own after the suite (scripts/test.sh). The three-host
    // test (three extra Docker engines, 30 real gradings) and the scale simulation are opt-in
    // (GRADER_MULTI_HOST=1) until they have passed within the CI budget; two-hosts.test.ts stays in.
    exclude: [
      'node_modules/**',
      ...(process.env.GRADER_ENGINE_FAULTS ? [] : ['tests/engine-faults/**']),
      ...(process.env.GRADER_MULTI_HOST ? [] : ['tests/integration/multi-host.test.ts', 'tests/integration/simulation.test.ts']),
    ],
    // One file at a time: the suites share one Docker engine and two cores, and timing-sensitive
    // cases (timeouts, kills) must not compete with each other.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
