// The UCSM driver's network resource on the UCSM emulator, method by method (the contract suite in
// contract.test.ts covers the rules every driver keeps; these are UCSM's own regressions). Every
// check reads the emulator's object tree, never the driver.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverContext, Owner } from '../../src/drivers/driver.ts';
import type { NetworkModel } from '../../src/drivers/model.ts';
import { UcsmDriver } from '../../src/drivers/ucsm/driver.ts';
import { startEmulator, type UcsmEmulator } from '../ucsm-emulator/emulator.ts';

const PASSWORD = 'networks-admin-pw';
const log = pino({ level: 'silent' });
const ctx = (): DriverContext => ({ signal: new AbortController().signal, log });
const owner: Owner = { instance: 'netform', kind: 'Network', name: 'web' };
const model: NetworkModel = {
  name: 'web',
  physicalNetwork: 'physnet1',
  vlan: 310,
  mtu: 1500,
  shared: false,
  adminStateUp: true,
  portSecurity: true,
  portMirroring: false,
  subnets: [],
  hosts: ['hv1'],
};
const VLAN = 'fabric/lan/net-nf-web';
const PP = 'fabric/lan/profiles/vnic-nf-pp-web';
const MEMBERS = ['org-root/ls-hv1/ether-eth0/if-nf-web', 'org-root/ls-hv1/ether-eth1/if-nf-web'];

let emulator: UcsmEmulator | undefined;
let driver: UcsmDriver | undefined;
afterEach(async () => {
  await driver?.close();
  await emulator?.close();
  driver = undefined;
  emulator = undefined;
});

async function start(deleteMissing: 'ok' | 'error-102'): Promise<{ e: UcsmEmulator; d: UcsmDriver }> {
  const e = await startEmulator({
    users: { admin: PASSWORD },
    deleteMissing,
    seed: (t) => {
      t.put({ classId: 'lsServer', dn: 'org-root/ls-hv1', attrs: { name: 'hv1' } });
      for (const v of ['eth0', 'eth1']) t.put({ classId: 'vnicEther', dn: `org-root/ls-hv1/ether-${v}`, attrs: { name: v } });
    },
  });
  const d = new UcsmDriver(
    {
      name: 'ucsm',
      type: 'ucsm',
      endpoint: e.url,
      credentials: { username: 'admin', password: PASSWORD },
      tls: { insecureSkipVerify: false },
      requestTimeoutMs: 5000,
      maxConcurrency: 4,
      options: { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', maxPorts: 64, vnics: ['eth0', 'eth1'], hosts: [{ host: 'hv1', serviceProfile: 'org-root/ls-hv1' }] },
    },
    log,
  );
  emulator = e;
  driver = d;
  return { e, d };
}

describe('UCSM networks', () => {
  it('create returns the port profile as UCSM holds it, its VLAN and client included: nothing left to update', async () => {
    const { e, d } = await start('ok');
    const created = await d.networks.create(ctx(), owner, model);
    expect(e.children(PP).map((c) => c.classId).sort()).toEqual(['vmVnicProfCl', 'vnicEtherIf']);
    expect(created.state.profile?.ifs).toEqual([{ name: 'nf-web', defaultNet: 'yes' }]);
    expect(created.state.profile?.client).toBe(true);
    expect(created.state.memberships).toEqual(MEMBERS);
    expect(d.networks.diff(model, created.state)).toEqual([]);
  });

  for (const deleteMissing of ['ok', 'error-102'] as const) {
    it(`delete from an observation part of which is gone already removes the rest (delete of a missing MO: ${deleteMissing})`, async () => {
      const { e, d } = await start(deleteMissing);
      const created = await d.networks.create(ctx(), owner, model);
      expect(e.get(MEMBERS[0]!)).toBeDefined();
      // Someone removes one vNIC's VLAN out of band; the driver still holds the older observation.
      expect(e.remove(MEMBERS[0]!)).toBe(true);
      await d.networks.delete(ctx(), created);
      expect(e.get(VLAN)).toBeUndefined();
      expect(e.get(PP)).toBeUndefined();
      for (const m of MEMBERS) expect(e.get(m), m).toBeUndefined();
    });
  }
});
