import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'engine', include: ['test/**/*.test.ts'], exclude: ['test/neutron/**'] },
      },
      {
        // Against a real Neutron API server (Debian's packages), started once for the project.
        extends: true,
        test: {
          name: 'neutron',
          include: ['test/neutron/**/*.test.ts'],
          globalSetup: ['test/harness/neutron-global-setup.ts'],
          hookTimeout: 300_000,
          testTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
