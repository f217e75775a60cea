// The netform command against the real Neutron: apply/plan/status from manifests, adoption after a
// SIGKILL between Neutron's commit and netform's record, and a cross-check with the `openstack` CLI.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, waitFor } from '../support/cli.ts';
import { api, networksNamed, neutronUrl, subnetsOf, uniq } from './support.ts';

const exec = promisify(execFile);

function manifests(dir: string, nets: string): void {
  writeFileSync(
    join(dir, 'provider.yaml'),
    `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: os}\nspec: {type: neutron, endpoint: "${neutronUrl()}", neutron: {auth: noauth}}\n`,
  );
  writeFileSync(join(dir, 'networks.yaml'), nets);
}

const net = (name: string, vlan: number, extra = '') => `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec:
  physicalNetwork: physnet2
  vlan: {id: ${vlan}}
  mtu: 9000
  subnets: [{name: v4, cidr: 10.${vlan % 250}.0.0/24, gateway: 10.${vlan % 250}.0.1}]
  providerRefs: [{name: os}]
${extra}`;

/** The `openstack` client (Debian's python3-openstackclient), pointed at the noauth endpoint. */
async function openstack(...args: string[]): Promise<unknown> {
  const { stdout } = await exec('openstack', ['--os-auth-type', 'none', '--os-endpoint', neutronUrl(), ...args, '-f', 'json'], {
    env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` },
    timeout: 120_000,
  });
  return JSON.parse(stdout);
}

describe('netform CLI on the real Neutron', () => {
  it('plan, apply, status; the openstack CLI sees what netform made', async () => {
    const dir = tempDir('neutron-cli');
    const state = join(dir, '.state');
    const a = `cli-a-${uniq()}`;
    const b = `cli-b-${uniq()}`;
    manifests(dir, [net(a, 2201), net(b, 2202)].join('---\n'));
    const plan = await runCli(['plan', '--dir', dir, '--state', state], { real: true });
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`+ Network/${a}  neutron:os network  (create)`);
    expect(plan.stdout).toContain('plan: 2 to create, 0 to update, 0 to replace, 0 to delete');

    const r = await runCli(['apply', '--dir', dir, '--state', state], { real: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const status = JSON.parse((await runCli(['status', '--state', state, '-o', 'json'], { real: true })).stdout) as { key: string; status: { providers?: { externalId: string; externalIds: Record<string, string> }[] } }[];
    const rec = status.find((s) => s.key === `Network/${a}`)!;
    const [neutronA] = await networksNamed(a);
    expect(rec.status.providers![0]!.externalId).toBe(neutronA!.id);
    expect(rec.status.providers![0]!.externalIds['subnet/v4']).toBe((await subnetsOf(neutronA!.id))[0]!.id);

    // A client nobody here wrote.
    const shown = (await openstack('network', 'show', a)) as Record<string, unknown>;
    expect(shown).toMatchObject({ id: neutronA!.id, mtu: 9000, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet2', 'provider:segmentation_id': 2201 });
    expect(shown.tags).toEqual(expect.arrayContaining(['netform', 'nf-inst:netform']));
    const listed = (await openstack('subnet', 'list', '--network', neutronA!.id)) as { Subnet: string; Name: string }[];
    expect(listed).toEqual([expect.objectContaining({ Name: 'v4', Subnet: '10.201.0.0/24' })]);

    const again = await runCli(['plan', '--dir', dir, '--state', state], { real: true });
    expect(again.code).toBe(0);
    manifests(dir, net(a, 2201));
    const removed = await runCli(['apply', '--dir', dir, '--state', state], { real: true });
    expect(removed.code).toBe(0);
    expect(await networksNamed(b)).toEqual([]);
    manifests(dir, '');
    expect((await runCli(['apply', '--dir', dir, '--state', state], { real: true })).code).toBe(0);
    expect(await networksNamed(a)).toEqual([]);
  });

  it('SIGKILL right after Neutron created the network, then a restart: exactly one network, adopted and finished', async () => {
    const dir = tempDir('neutron-kill');
    const state = join(dir, '.state');
    const hold = join(dir, 'held-id');
    const name = `kill-${uniq()}`;
    manifests(dir, net(name, 2203, '  description: survives a crash\n'));
    const run = startCli(['apply', '--dir', dir, '--state', state], { neutronHold: true, env: { NETFORM_TEST_HOLD_FILE: hold } });
    await waitFor('Neutron to have created the network', () => existsSync(hold) && readFileSync(hold, 'utf8').length > 0, 60_000);
    run.child.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
    const heldId = readFileSync(hold, 'utf8');
    const half = await networksNamed(name);
    expect(half.map((n) => n.id)).toEqual([heldId]);
    expect(half[0]!.tags).toEqual([]); // killed before it was tagged: only the pending marker identifies it

    const r = await runCli(['apply', '--dir', dir, '--state', state], { real: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = await networksNamed(name);
    expect(after.map((n) => n.id)).toEqual([heldId]);
    expect(after[0]!.description).toBe('survives a crash');
    expect(after[0]!.tags).toEqual(expect.arrayContaining(['netform', 'nf-inst:netform']));
    expect((await subnetsOf(heldId)).map((s) => s.name)).toEqual(['v4']);
    manifests(dir, '');
    expect((await runCli(['apply', '--dir', dir, '--state', state], { real: true })).code).toBe(0);
    expect((await api('GET', `/v2.0/networks/${heldId}`)).status).toBe(404);
  });
});
