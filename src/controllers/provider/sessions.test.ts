// What a driver factory gets from a Provider: typed options of its type, with the CRD's defaults —
// also for an options block the manifest left out — and nothing a driver has to default again.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../api/kinds.ts';
import type { NeutronProviderConfig, ProviderConfig, ProviderDriver, UcsmProviderConfig } from '../../drivers/driver.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import type { CredentialSource } from '../../api/credentials.ts';
import { ProviderSessions } from './sessions.ts';

const noCredentials: CredentialSource = { resolve: async () => ({ credentials: { username: 'u', password: 'p' } }) };

function provider(spec: string): Provider {
  const r = admit([{ path: '/m/p.yaml', text: `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: p}\nspec: ${spec}` }]);
  expect(r.errors).toEqual([]);
  const o = [...r.objects.values()][0]!.object;
  if (o.kind !== 'Provider') throw new Error(`not a Provider: ${o.kind}`);
  return o;
}

async function configOf(p: Provider): Promise<ProviderConfig> {
  const seen: ProviderConfig[] = [];
  const fake = (config: ProviderConfig): ProviderDriver => {
    seen.push(config);
    return { type: config.type, probe: async () => ({}), close: async () => {} };
  };
  const registry = new DriverRegistry().register('neutron', (c: NeutronProviderConfig) => fake(c)).register('ucsm', (c: UcsmProviderConfig) => fake(c));
  const sessions = new ProviderSessions({ registry, credentials: noCredentials, log: pino({ level: 'silent' }) });
  await sessions.get(p, '/m');
  await sessions.closeAll();
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

describe('ProviderSessions: provider options', () => {
  it('a ucsm provider without a ucsm block gets the CRD defaults of one', async () => {
    const c = await configOf(provider('{type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: c.yaml}}'));
    expect(c.type).toBe('ucsm');
    expect(c.options).toEqual({ vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', vnics: ['eth0', 'eth1'], maxPorts: 64 });
  });

  it('a ucsm block is passed as admitted (defaults filled in), with the physical networks', async () => {
    const c = await configOf(
      provider(
        '{type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: c.yaml}, physicalNetworks: [physnet1], ucsm: {vlanNamePrefix: x-, hosts: [{host: hv1, serviceProfile: org-root/ls-hv1}]}}',
      ),
    );
    expect(c.options).toEqual({
      vlanNamePrefix: 'x-',
      portProfilePrefix: 'nf-pp-',
      vnics: ['eth0', 'eth1'],
      maxPorts: 64,
      hosts: [{ host: 'hv1', serviceProfile: 'org-root/ls-hv1' }],
      physicalNetworks: ['physnet1'],
    });
  });

  it('a neutron provider gets its block, auth defaulted by the CRD when left out', async () => {
    const given = await configOf(provider('{type: neutron, endpoint: "http://127.0.0.1:9696", neutron: {auth: noauth, projectId: p1}}'));
    expect(given).toMatchObject({ type: 'neutron', options: { auth: 'noauth', projectId: 'p1' } });
    const keystone = await configOf(provider('{type: neutron, endpoint: "http://127.0.0.1:9696", credentials: {file: c.yaml}, neutron: {authUrl: "https://k.example/v3"}}'));
    expect(keystone.options).toEqual({ auth: 'keystone', authUrl: 'https://k.example/v3' });
  });

  it('the admitted spec itself is left as it was', async () => {
    const p = provider('{type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: c.yaml}}');
    await configOf(p);
    expect(p.spec).not.toHaveProperty('ucsm');
  });
});
