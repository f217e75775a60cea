// The driver contract suite against the real Neutron API server.
import { driverContract } from '../contract/driver-contract.ts';
import { api, driver, uniq } from './support.ts';

driverContract('neutron driver on a real Neutron', async () => {
  const d = driver({ snapshotTtlMs: 0 });
  const prefix = `contract-${uniq()}`;
  return {
    driver: d,
    prefix,
    physicalNetwork: 'physnet3',
    vlans: [3001, 3002, 3003],
    compareAndSwap: true,
    mutate: (m) => ({ ...m, mtu: m.mtu === 1500 ? 1450 : 1500, description: `${m.description ?? ''}!` }),
    // Everything on the server (ids and revisions), read through the API, not the driver.
    snapshot: async () => {
      const nets = (await api<{ networks: { id: string; revision_number: number }[] }>('GET', '/v2.0/networks?fields=id&fields=revision_number')).body.networks;
      const subs = (await api<{ subnets: { id: string; revision_number: number }[] }>('GET', '/v2.0/subnets?fields=id&fields=revision_number')).body.subnets;
      return JSON.stringify([nets.sort((a, b) => (a.id < b.id ? -1 : 1)), subs.sort((a, b) => (a.id < b.id ? -1 : 1))]);
    },
  };
});
