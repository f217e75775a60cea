// The Neutron network driver's shared listing (re-checks read one tag-filtered listing of networks and
// subnets instead of each network) must never answer for a network with a listing taken while that
// network was still being written: a listing that saw the network tagged but not yet its subnets made
// a later re-check of it add the subnets again (Neutron: "overlaps with another subnet"), seen as a
// flake of router-kind.test.ts under load. Real Neutron; the listing is forced into that window.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DriverContext, Owner } from '../../src/drivers/driver.ts';
import type { NetworkModel } from '../../src/drivers/model.ts';
import type { NeutronClient } from '../../src/drivers/neutron/client.ts';
import { api, driver, uniq } from './support.ts';

const ctx = (): DriverContext => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }) });
// physnet2 below 2100 is used by no other test.
const VLAN = 1500 + Math.floor(Math.random() * 90) * 2;

function model(name: string, vlan: number, cidr: string): NetworkModel {
  return {
    name,
    physicalNetwork: 'physnet2',
    vlan,
    mtu: 1500,
    shared: false,
    adminStateUp: true,
    portSecurity: true,
    portMirroring: false,
    subnets: [{ name: 'v4', cidr, ipVersion: 4, dhcp: false }],
  };
}

describe('Neutron networks: the shared listing', () => {
  it('a listing taken while a network was being created (tagged, its subnets not yet made) is not used to re-check it: no subnet is added twice', async () => {
    const run = uniq();
    const instance = `lst-${run}`;
    const d = driver({ snapshotTtlMs: 60_000 });
    const ownerA: Owner = { instance, kind: 'Network', name: `a-${run}` };
    const ownerB: Owner = { instance, kind: 'Network', name: `b-${run}` };
    const mA = model(ownerA.name, VLAN, '10.93.1.0/24');
    const mB = model(ownerB.name, VLAN + 1, '10.93.2.0/24');
    const b = await d.networks.create(ctx(), ownerB, mB);

    // When A's subnets are about to be POSTed (A exists and is tagged), B is re-checked: that takes the
    // listing both share, with A in it and none of A's subnets.
    const request = d.client.request.bind(d.client);
    let listed = 0;
    d.client.request = (async (method: Parameters<NeutronClient['request']>[0], path: string, o?: Parameters<NeutronClient['request']>[2]) => {
      if (method === 'POST' && path === '/v2.0/subnets' && JSON.stringify(o?.body).includes('10.93.1.0/24') && listed++ === 0) {
        const seenB = await d.networks.observe(ctx(), { owner: ownerB, desired: mB, externalId: b.externalId });
        expect(d.networks.diff(mB, seenB!.state)).toEqual([]);
      }
      return request(method, path, o);
    }) as NeutronClient['request'];
    const a = await d.networks.create(ctx(), ownerA, mA);
    expect(listed).toBe(1);
    expect(d.networks.diff(mA, a.state)).toEqual([]);

    // A re-check of A right after: it has its subnet, nothing to do.
    const seenA = await d.networks.observe(ctx(), { owner: ownerA, desired: mA, externalId: a.externalId });
    expect(seenA!.state.subnets.map((s) => s.cidr)).toEqual(['10.93.1.0/24']);
    expect(d.networks.diff(mA, seenA!.state)).toEqual([]);
    expect((await api<{ subnets: unknown[] }>('GET', `/v2.0/subnets?network_id=${a.externalId}`)).body.subnets).toHaveLength(1);

    await d.networks.delete(ctx(), seenA!);
    await d.networks.delete(ctx(), b);
    await d.close();
  });
});
