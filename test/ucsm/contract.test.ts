// The driver contract suite against the UCSM driver, talking to the UCSM emulator (which Cisco's own
// SDK accepts: test/ucsm-emulator/) over the XML API through the driver's real client. The snapshot
// reads the emulator's own object tree, never the driver.
import { pino } from 'pino';
import type { ProviderConfig } from '../../src/drivers/driver.ts';
import { builtinDrivers } from '../../src/drivers/registry.ts';
import { startEmulator, type UcsmEmulator } from '../ucsm-emulator/emulator.ts';
import { driverContract } from '../contract/driver-contract.ts';

const PASSWORD = 'contract-admin-pw';

/** Every MO of the emulator, walked from its roots, in DN order. */
function dump(e: UcsmEmulator): string {
  const out: unknown[] = [];
  const walk = (dn: string): void => {
    const mo = e.get(dn);
    // The clock is no state (topSystem's currentTime moves on by itself).
    if (mo) out.push({ ...mo, attrs: Object.fromEntries(Object.entries(mo.attrs).filter(([k]) => k !== 'currentTime')) });
    for (const c of e.children(dn).sort((a, b) => (a.dn < b.dn ? -1 : 1))) walk(c.dn);
  };
  for (const root of ['sys', 'fabric', 'org-root']) walk(root);
  return JSON.stringify(out);
}

// Real UCSM's answer to deleting a missing MO is not attested (reference §9): the driver must work with both.
for (const deleteMissing of ['ok', 'error-102'] as const) {
  driverContract(`ucsm driver on the UCSM emulator (delete of a missing MO: ${deleteMissing})`, async () => {
    const emulator = await startEmulator({
      users: { admin: PASSWORD },
      deleteMissing,
      seed: (t) => {
        // A host's service profile with the two vNICs the driver puts VLANs on.
        t.put({ classId: 'lsServer', dn: 'org-root/ls-hv1', attrs: { name: 'hv1' } });
        for (const v of ['eth0', 'eth1']) t.put({ classId: 'vnicEther', dn: `org-root/ls-hv1/ether-${v}`, attrs: { name: v } });
        // This domain moved its reserved VLAN block (UCSM >= 4.0): UCSM itself refuses 2000-2127.
        t.put({ classId: 'fabricReservedVlan', dn: 'fabric/lan/fab-reserved-vlans', attrs: { startId: '2000', endId: '2127' } });
      },
    });
    const config: ProviderConfig = {
      name: 'ucsm-contract',
      type: 'ucsm',
      endpoint: emulator.url,
      credentials: { username: 'admin', password: PASSWORD },
      tls: { insecureSkipVerify: false },
      requestTimeoutMs: 5000,
      maxConcurrency: 4,
      options: {
        vlanNamePrefix: 'nf-',
        portProfilePrefix: 'nf-pp-',
        maxPorts: 64,
        vnics: ['eth0', 'eth1'],
        hosts: [{ host: 'hv1', serviceProfile: 'org-root/ls-hv1' }],
      },
    };
    const driver = builtinDrivers().create(config, { log: pino({ level: 'silent' }) });
    return {
      driver,
      prefix: 'contract',
      physicalNetwork: 'physnet1',
      vlans: [300, 301, 302],
      compareAndSwap: false,
      duplicateVlanIds: 'allowed',
      vlanChange: 'inPlace',
      // A mutable change on UCSM: the network carried by host hv1 (its vNICs' VLAN memberships), or not.
      mutate: (m) => ({ ...m, hosts: m.hosts?.includes('hv1') ? [] : ['hv1'] }),
      // A VLAN id inside this domain's reserved block, which the driver's own range check lets pass.
      refused: (m) => ({ ...m, vlan: 2000 }),
      snapshot: async () => dump(emulator),
      cleanup: () => emulator.close(),
    };
  });
}
