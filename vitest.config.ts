import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The Docker-engine fault case runs on its own after the suite (scripts/test.sh).
    exclude: ['node_modules/**', ...(process.env.GRADER_ENGINE_FAULTS ? [] : ['tests/engine-faults/**'])],
    // One file at a time: the suites share one Docker engine and two cores, and timing-sensitive
    // cases (timeouts, kills) must not compete with each other.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
