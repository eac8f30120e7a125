import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['ext-proc/**/*.test.ts', 'simulators/**/*.test.ts', 'envoy/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts', 'protos/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites each start their own Envoy; two cores do not gain from running many at once.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
