import { describe, expect, it } from 'vitest';
import { vnicDeviceName, type HostModel, type HostVnicModel } from '../host-driver.ts';
import type { ObservedHost, ObservedLink } from './model.ts';
import { settleDeparting } from './departing.ts';

const vnic = (key: string, over: Partial<HostVnicModel> = {}): HostVnicModel => ({ key, network: 'red', vmName: key, plugged: true, linked: true, ...over });
const model = (vnics: HostVnicModel[]): HostModel => ({ name: 'a', syncPolicy: 'Auto', probes: [], defaultFabric: 'ovs', nics: [], bonds: [], networks: [], unplaced: [], vnics });
const tap = (key: string, operstate: string): ObservedLink => ({ name: vnicDeviceName(key), ifindex: 1, kind: 'tun', mtu: 1500, up: true, operstate, mac: '56:6f:00:00:00:01', group: 0 });
const host = (links: ObservedLink[]): ObservedHost => ({ links, addresses: [] });

describe('settleDeparting', () => {
  it('a model without departing vNICs is returned as it is', () => {
    const m = model([vnic('t/a')]);
    expect(settleDeparting(m, host([]))).toBe(m);
  });

  it('a departing vNIC whose tap a process still holds (carrier: UP) is kept, as an ordinary vNIC', () => {
    const m = model([vnic('t/a'), vnic('t/b', { departing: true })]);
    expect(settleDeparting(m, host([tap('t/b', 'UP')])).vnics).toEqual([vnic('t/a'), vnic('t/b')]);
  });

  it('released (no carrier), gone, or unplugged: left out, so its device and OVS row go and nothing is made again', () => {
    const m = model([vnic('t/b', { departing: true }), vnic('t/c', { departing: true }), vnic('t/d', { departing: true, plugged: false })]);
    expect(settleDeparting(m, host([tap('t/b', 'DOWN'), tap('t/d', 'UP')])).vnics).toEqual([]);
  });
});
