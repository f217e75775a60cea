// A VnicProfile ⇄ UCS Manager objects (ADR 17): names, the egress settings from the profile's
// limits, the MOs, the observed state and the diff.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Owner } from '../driver.ts';
import type { VnicProfileModel } from '../model.ts';
import { marker, names, type UcsmOptions } from './mapping.ts';
import { DEFAULT_BURST_BYTES, diffProfile, egressOf, normalizeProfile, policyMo, portProfileMo, profileNames, type UcsmProfileState } from './profile-mapping.ts';
import type { Mo } from './xml.ts';

const sha = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);
const UCSM_CHARS = /^[-.:_a-zA-Z0-9]+$/;
const o: UcsmOptions = { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', maxPorts: 64, vnics: ['eth0', 'eth1'] };
const owner: Owner = { instance: 'lab', kind: 'VnicProfile', namespace: 'shop', name: 'gold' };
const model = (over: Partial<VnicProfileModel> = {}): VnicProfileModel => ({ name: 'shop/gold', network: 'web', qos: { outbound: { averageKbps: 5000, burstKb: 500 } }, ...over });

describe('profileNames', () => {
  it('port profile `<prefix><ns>:<name>`, the network VLAN, a 16-character policy hashed from the owner', () => {
    const n = profileNames(o, owner, model());
    expect(n.portProfile).toBe('nf-pp-shop:gold');
    expect(n.portProfileDn).toBe('fabric/lan/profiles/vnic-nf-pp-shop:gold');
    expect(n.vlan).toBe(names(o, 'web').vlan);
    expect(n.ifDn).toBe(`fabric/lan/profiles/vnic-nf-pp-shop:gold/if-${n.vlan}`);
    expect(n.policy).toBe(`nfq-${sha('lab:VnicProfile/shop/gold', 12)}`);
    expect(n.policy).toMatch(/^[-.:_a-zA-Z0-9]{16}$/);
    expect(n.policyDn).toBe(`org-root/ep-qos-${n.policy}`);
    expect(n.egressDn).toBe(`${n.policyDn}/egress`);
    expect(n.client.length).toBeLessThanOrEqual(16);
  });

  it('never the name of a network\'s port profile, even for a network named like the profile', () => {
    const n = profileNames(o, owner, model());
    expect(n.portProfile).not.toBe(names(o, 'shop-gold').profile);
    expect(n.portProfile).not.toBe(names(o, 'gold').profile);
    expect(n.client).not.toBe(names(o, 'gold').client);
  });

  it('long namespaces and names are shortened under UCSM\'s 31 characters, distinct and deterministic', () => {
    const a = profileNames(o, owner, model({ name: `${'n'.repeat(40)}/${'p'.repeat(40)}` }));
    const b = profileNames(o, owner, model({ name: `${'n'.repeat(40)}/${'p'.repeat(39)}` }));
    for (const n of [a, b]) {
      expect(n.portProfile.length).toBeLessThanOrEqual(31);
      expect(n.portProfile).toMatch(UCSM_CHARS);
    }
    expect(a.portProfile).not.toBe(b.portProfile);
    expect(profileNames(o, owner, model({ name: `${'n'.repeat(40)}/${'p'.repeat(40)}` }))).toEqual(a);
  });

  it('another installation or another profile gets another policy', () => {
    const mine = profileNames(o, owner, model()).policy;
    expect(profileNames(o, { ...owner, instance: 'other' }, model()).policy).not.toBe(mine);
    expect(profileNames(o, { ...owner, name: 'silver' }, model({ name: 'shop/silver' })).policy).not.toBe(mine);
  });
});

describe('egressOf', () => {
  it.each([
    { what: 'outbound rate, burst in bytes (kb × 125)', r: { averageKbps: 5000, burstKb: 500 }, want: { rate: '5000', burst: '62500' } },
    { what: 'a burst over 65535 bytes is capped', r: { averageKbps: 5000, burstKb: 525 }, want: { rate: '5000', burst: '65535' } },
    { what: 'a large burst is capped', r: { averageKbps: 1, burstKb: 100_000_000 }, want: { rate: '8', burst: '65535' } },
    { what: 'a rate below UCSM\'s 8 kbps is raised to 8', r: { averageKbps: 3 }, want: { rate: '8', burst: String(DEFAULT_BURST_BYTES) } },
    { what: 'the top of UCSM\'s range', r: { averageKbps: 100_000_000, burstKb: 1 }, want: { rate: '100000000', burst: '125' } },
    { what: 'no burst: the assumed UCSM default', r: { averageKbps: 1000 }, want: { rate: '1000', burst: '10240' } },
    { what: 'the peak rate is ignored (UCSM has none)', r: { averageKbps: 1000, peakKbps: 5000, burstKb: 8 }, want: { rate: '1000', burst: '1000' } },
  ])('$what', ({ r, want }) => {
    expect(egressOf(r)).toEqual({ ...want, prio: 'best-effort', hostControl: 'none' });
  });

  it('no outbound limit: no egress policy', () => {
    expect(egressOf(undefined)).toBeUndefined();
  });
});

describe('MOs', () => {
  it('the policy carries the marker and its egress; the port profile the VLAN as native, a client, maxPorts, the marker and the policy name', () => {
    const n = profileNames(o, owner, model());
    const pol = policyMo(n, owner, egressOf({ averageKbps: 5000, burstKb: 500 })!, 'created,modified');
    expect(pol).toEqual({
      classId: 'epqosDefinition',
      attrs: { name: n.policy, descr: marker(owner), policyOwner: 'local', status: 'created,modified', dn: n.policyDn },
      children: [{ classId: 'epqosEgress', attrs: { rate: '5000', burst: '62500', prio: 'best-effort', hostControl: 'none', dn: n.egressDn }, children: [] }],
    });
    const pp = portProfileMo(n, owner, { ...o, maxPorts: 128 }, n.policy, 'created,modified');
    expect(pp.attrs).toEqual({ name: n.portProfile, descr: marker(owner), maxPorts: '128', hostNwIOPerf: 'none', policyOwner: 'local', qosPolicyName: n.policy, status: 'created,modified', dn: n.portProfileDn });
    expect(pp.children.map((c) => [c.classId, c.attrs.name, c.attrs.defaultNet ?? ''])).toEqual([
      ['vnicEtherIf', n.vlan, 'yes'],
      ['vmVnicProfCl', n.client, ''],
    ]);
  });
});

/** What UCSM returns for what policyMo/portProfileMo sent (hierarchical), with read-only extras. */
function asReturned(m: Mo): Mo {
  return { classId: m.classId, attrs: { ...m.attrs, status: '', childAction: 'deleteNonPresent' }, children: m.children.map(asReturned) };
}

describe('normalizeProfile and diffProfile', () => {
  const n = profileNames(o, owner, model());
  const converged = (m: VnicProfileModel): UcsmProfileState => {
    const e = egressOf(m.qos?.outbound);
    return normalizeProfile(n, owner, asReturned(portProfileMo(n, owner, o, e ? n.policy : '', 'created')), e ? asReturned(policyMo(n, owner, e, 'created')) : undefined);
  };

  it('what create sends is converged', () => {
    for (const m of [model(), model({ qos: { inbound: { averageKbps: 100 } } }), model({ qos: { outbound: { averageKbps: 1 } } })]) expect(diffProfile(o, m, converged(m))).toEqual([]);
  });

  it('nothing there: the port profile and the policy to create; inbound only: only the port profile', () => {
    const none: UcsmProfileState = { policyName: n.policy };
    expect(diffProfile(o, model(), none)).toEqual([
      { path: 'portProfile', to: n.portProfile },
      { path: 'qosPolicy', to: n.policy },
    ]);
    expect(diffProfile(o, model({ qos: { inbound: { averageKbps: 100 } } }), none)).toEqual([{ path: 'portProfile', to: n.portProfile }]);
  });

  it('marks: ours only with this owner\'s marker', () => {
    const s = converged(model());
    expect([s.profile!.ours, s.policy!.ours]).toEqual([true, true]);
    const other = normalizeProfile(n, { ...owner, instance: 'other' }, asReturned(portProfileMo(n, owner, o, '', 'created')), asReturned(policyMo(n, owner, egressOf({ averageKbps: 9 })!, 'created')));
    expect([other.profile!.ours, other.policy!.ours]).toEqual([false, false]);
  });

  it('a new rate and burst are in-place changes of the egress', () => {
    const s = converged(model());
    expect(diffProfile(o, model({ qos: { outbound: { averageKbps: 7000, burstKb: 100 } } }), s)).toEqual([
      { path: 'qosPolicy.rate', from: '5000', to: '7000' },
      { path: 'qosPolicy.burst', from: '62500', to: '12500' },
    ]);
    expect(diffProfile(o, model({ qos: { outbound: { averageKbps: 7000, burstKb: 100 } } }), s).some((c) => c.immutable)).toBe(false);
  });

  it('outbound dropped: the port profile stops naming the policy and the policy goes; added back: both return', () => {
    const s = converged(model());
    const inboundOnly = model({ qos: { inbound: { averageKbps: 100 } } });
    expect(diffProfile(o, inboundOnly, s)).toEqual([
      { path: 'portProfile.qosPolicy', from: n.policy, to: '' },
      { path: 'qosPolicy', from: n.policy, to: 'none' },
    ]);
    expect(diffProfile(o, model(), converged(inboundOnly))).toEqual([
      { path: 'portProfile.qosPolicy', from: '', to: n.policy },
      { path: 'qosPolicy', to: n.policy },
    ]);
  });

  it('drift: egress gone, prio and host control changed, VLAN not native, client gone, maxPorts changed', () => {
    const s = converged(model());
    const drifted: UcsmProfileState = {
      ...s,
      profile: { ...s.profile!, ifs: [{ name: n.vlan, defaultNet: 'no' }], client: false, maxPorts: '10' },
      policy: { ...s.policy!, egress: { ...s.policy!.egress!, prio: 'gold', hostControl: 'full' } },
    };
    expect(diffProfile(o, model(), drifted).map((c) => c.path)).toEqual(['portProfile.vlans', 'portProfile.client', 'portProfile.maxPorts', 'qosPolicy.prio', 'qosPolicy.hostControl']);
    const { egress: _gone, ...bare } = s.policy!;
    expect(diffProfile(o, model(), { ...s, policy: bare }).map((c) => c.path)).toEqual(['qosPolicy.egress']);
  });

  it('the profile moved to another network: the port profile\'s VLAN changes in place', () => {
    const s = converged(model());
    const moved = model({ network: 'db' });
    expect(diffProfile(o, moved, s)).toEqual([{ path: 'portProfile.vlans', from: `${n.vlan}:yes`, to: `${names(o, 'db').vlan}:yes` }]);
  });

  it('a changed port profile prefix is a replace (UCSM cannot rename)', () => {
    const s = converged(model());
    const changes = diffProfile({ ...o, portProfilePrefix: 'pp-' }, model(), s);
    expect(changes).toContainEqual({ path: 'portProfile.name', from: n.portProfile, to: 'pp-shop:gold', immutable: true });
  });
});
