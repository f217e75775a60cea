import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Once per run, whatever projects run: the artifacts directory every test captures what netform
    // writes into, and the scan of it for every credential the tests use (test/support/secrets.ts).
    globalSetup: ['test/harness/secrets-global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts'] },
      },
      {
        // The engine, file mode and CLI with the test driver; the host agent on the sandbox kernel.
        extends: true,
        test: { name: 'engine', include: ['test/**/*.test.ts'], exclude: ['test/neutron/**', 'test/chaos/**', 'test/qemu-smoke/**', 'test/host-qemu/**', 'test/kube/**', 'test/kube-smoke/**'] },
      },
      {
        // Against a real Neutron API server (Debian's packages), started once for the project.
        extends: true,
        test: {
          name: 'neutron',
          // test/chaos: crash loop and fault proxy over the real Neutron, the UCSM emulator and a hostsim host.
          include: ['test/neutron/**/*.test.ts', 'test/chaos/**/*.test.ts'],
          globalSetup: ['test/harness/neutron-global-setup.ts'],
          hookTimeout: 300_000,
          testTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // Inside a QEMU guest with Debian's stock kernel: 8021q VLANs, kernel bonds, dummy NICs.
        extends: true,
        test: {
          name: 'qemu',
          include: ['test/qemu-smoke/**/*.test.ts', 'test/host-qemu/**/*.test.ts'],
          hookTimeout: 300_000,
          testTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // Against a real kube-apiserver + etcd built from their Go modules (test/harness/kube); each
        // file starts its own control plane on loopback.
        extends: true,
        test: {
          name: 'kube',
          include: ['test/kube-smoke/**/*.test.ts', 'test/kube/**/*.test.ts'],
          hookTimeout: 30 * 60_000,
          testTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
