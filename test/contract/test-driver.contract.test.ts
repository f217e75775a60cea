// The contract suite against the test driver: proves the suite itself (every check can fail, see
// the mutation notes in docs/adr/0004), not any real backend.
import { FakeBackend } from '../support/fake-backend.ts';
import { TestDriver } from '../support/test-driver.ts';
import { driverContract } from './driver-contract.ts';

driverContract('test driver on the fake backend', async () => {
  const backend = new FakeBackend();
  const url = await backend.start();
  return {
    driver: new TestDriver({ name: 'fake', type: 'neutron', endpoint: url, tls: { insecureSkipVerify: false }, requestTimeoutMs: 5000, maxConcurrency: 4, options: { auth: 'noauth' } }),
    prefix: 'contract',
    physicalNetwork: 'physnet1',
    vlans: [10, 11, 12],
    compareAndSwap: true,
    duplicateVlanIds: 'refused',
    vlanChange: 'replace',
    mutate: (m) => ({ ...m, mtu: m.mtu === 1500 ? 1450 : 1500, description: `${m.description ?? ''}!` }),
    snapshot: async () => JSON.stringify([...backend.objects.values()]),
    cleanup: () => backend.stop(),
  };
});
