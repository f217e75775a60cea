// The approval gate in file mode, end to end with the real CLI (the test driver against the in-memory
// FakeBackend: this proves the engine and the CLI, not a backend): a Network with approval Manual is
// held — status.pendingPlan, Synced=False AwaitingApproval, nothing on the backend — until it is
// approved for exactly its plan's digest; an edit after approval makes a new plan the old approval
// does not cover; removing the network is held the same way; a Provider with approval Manual holds
// every network on it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../support/fake-backend.ts';
import { runCli, tempDir } from '../support/cli.ts';

const backend = new FakeBackend();
let url = '';
beforeAll(async () => {
  url = await backend.start();
});
afterAll(async () => {
  await backend.stop();
});

const provider = (approval = 'Auto') => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: lab}
spec: {type: neutron, endpoint: ${url}, neutron: {auth: noauth}, approval: ${approval}}
`;
const network = (name: string, mtu: number, approval?: string) => `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec: {physicalNetwork: physnet1, vlan: {id: ${name === 'held' ? 700 : 701}}, mtu: ${mtu}, shared: true, providerRefs: [{name: lab}]${approval ? `, approval: ${approval}` : ''}}
`;

interface Cond {
  type: string;
  status: string;
  reason: string;
  message?: string;
}
interface Entry {
  key: string;
  status: { conditions?: Cond[]; pendingPlan?: { digest: string; summary?: string; impact?: string; changes?: string[] } };
}

function setup(name: string) {
  const dir = tempDir(`${name}-dir`);
  const state = join(tempDir(`${name}-state`), 'state');
  return { dir, state, write: (f: string, t: string) => writeFileSync(join(dir, f), t) };
}
async function entry(state: string, key: string): Promise<Entry | undefined> {
  const r = await runCli(['status', '--state', state, '-o', 'json']);
  return (JSON.parse(r.stdout) as Entry[]).find((e) => e.key === key);
}
const cond = (e: Entry | undefined, type: string) => e?.status.conditions?.find((c) => c.type === type);
const owned = (name: string) => backend.list('network', `owner:netform:Network/${name}`);

describe('approval: Manual on a Network (file mode)', () => {
  it('holds the create until approved for its digest; holds an edit; an edit after approval needs a new approval', async () => {
    const t = setup('approval');
    t.write('p.yaml', provider());
    t.write('n.yaml', network('held', 1500, 'Manual'));

    // Held: nothing on the backend, the plan in status.
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(1);
    expect(owned('held')).toHaveLength(0);
    let e = await entry(t.state, 'Network/held');
    expect(cond(e, 'Synced')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    expect(cond(e, 'Ready')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    const d1 = e!.status.pendingPlan!.digest;
    expect(d1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(e!.status.pendingPlan!.summary).toBe('1 to create, 0 to update, 0 to replace, 0 to delete');
    expect(e!.status.pendingPlan!.changes).toEqual(['+ Network/held  neutron:lab network  (create)']);
    expect(cond(e, 'Synced')!.message).toContain(`netform approve Network/held --plan ${d1}`);
    // Applying again without approval still changes nothing.
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(1);
    expect(owned('held')).toHaveLength(0);

    // A wrong digest is refused; the right one is accepted, and the next apply carries the plan out.
    const wrong = await runCli(['approve', 'Network/held', '--plan', `sha256:${'0'.repeat(64)}`, '--state', t.state]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`the plan changed since: it is now ${d1}`);
    const ok = await runCli(['approve', 'network/held', '--plan', d1, '--state', t.state]);
    expect(ok.stdout).toContain(`approved Network/held for plan ${d1}`);
    expect(ok.code).toBe(0);
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(0);
    expect(owned('held')).toHaveLength(1);
    expect(owned('held')[0]!.fields.mtu).toBe(1500);
    e = await entry(t.state, 'Network/held');
    expect(e!.status.pendingPlan).toBeUndefined();
    expect(cond(e, 'Synced')).toMatchObject({ status: 'True' });
    expect((await runCli(['plan', '--dir', t.dir, '--state', t.state])).code).toBe(0);

    // An edit is held while the network stays usable as last applied.
    t.write('n.yaml', network('held', 9000, 'Manual'));
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(0);
    expect(owned('held')[0]!.fields.mtu).toBe(1500);
    e = await entry(t.state, 'Network/held');
    expect(cond(e, 'Ready')).toMatchObject({ status: 'True' });
    expect(cond(e, 'Synced')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    const d2 = e!.status.pendingPlan!.digest;
    expect(e!.status.pendingPlan!.changes!.join('\n')).toContain('mtu: 1500 → 9000');
    expect((await runCli(['approve', 'Network/held', '--plan', d2, '--state', t.state])).code).toBe(0);

    // Edited again after the approval: the approval covers the plan it was given for, not this one.
    t.write('n.yaml', network('held', 8000, 'Manual'));
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(0);
    expect(owned('held')[0]!.fields.mtu).toBe(1500);
    e = await entry(t.state, 'Network/held');
    const d3 = e!.status.pendingPlan!.digest;
    expect(d3).not.toBe(d2);
    expect(e!.status.pendingPlan!.changes!.join('\n')).toContain('mtu: 1500 → 8000');
    expect((await runCli(['approve', 'Network/held', '--plan', d2, '--state', t.state])).code).toBe(1);
    expect((await runCli(['approve', 'Network/held', '--plan', d3, '--state', t.state])).code).toBe(0);
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(0);
    expect(owned('held')[0]!.fields.mtu).toBe(8000);
    expect((await entry(t.state, 'Network/held'))!.status.pendingPlan).toBeUndefined();
    expect((await runCli(['plan', '--dir', t.dir, '--state', t.state])).code).toBe(0);

    // Removing it from the manifests is a change too: held until approved.
    t.write('n.yaml', '# removed\n');
    await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10']);
    expect(owned('held')).toHaveLength(1);
    e = await entry(t.state, 'Network/held');
    expect(cond(e, 'Synced')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    expect(e!.status.pendingPlan!.changes![0]).toMatch(/^− Network\/held {2}neutron:lab network \S+ {2}\(delete\)$/);
    expect((await runCli(['approve', 'Network/held', '--plan', e!.status.pendingPlan!.digest, '--state', t.state])).code).toBe(0);
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(0);
    expect(owned('held')).toHaveLength(0);
    expect(await entry(t.state, 'Network/held')).toBeUndefined();
  }, 120_000);

  it('a Provider with approval Manual holds the networks on it; approve with nothing held is refused', async () => {
    const t = setup('approval-provider');
    t.write('p.yaml', provider('Manual'));
    t.write('n.yaml', network('viaprov', 1500));
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10'])).code).toBe(1);
    expect(owned('viaprov')).toHaveLength(0);
    const e = await entry(t.state, 'Network/viaprov');
    expect(cond(e, 'Synced')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    const none = await runCli(['approve', 'Provider/lab', '--plan', e!.status.pendingPlan!.digest, '--state', t.state]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Provider/lab holds no plan awaiting approval');

    // Approved, the network is made; a vNIC on it is held in turn (its port is a change on the provider).
    expect((await runCli(['approve', 'Network/viaprov', '--plan', e!.status.pendingPlan!.digest, '--state', t.state])).code).toBe(0);
    t.write(
      'rest.yaml',
      [
        'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: viaprov, required: false}]}',
        'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h1}\nspec: {cluster: c, nics: [{name: eth1}]}',
        'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm1-nic0, namespace: default}\nspec: {vm: {name: vm1}, interfaceName: nic0, mac: "56:6f:00:00:41:01", network: viaprov, host: h1}',
      ].join('\n---\n'),
    );
    await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10']);
    expect(owned('viaprov')).toHaveLength(1);
    const ports = () => backend.list('port', 'owner:netform:VnicAttachment/default/vm1-nic0');
    expect(ports()).toHaveLength(0);
    const v = await entry(t.state, 'VnicAttachment/default/vm1-nic0');
    expect(cond(v, 'Synced')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
    expect((await runCli(['approve', 'VnicAttachment/default/vm1-nic0', '--plan', v!.status.pendingPlan!.digest, '--state', t.state])).code).toBe(0);
    await runCli(['apply', '--dir', t.dir, '--state', t.state, '--timeout', '10']);
    expect(ports()).toHaveLength(1);
    expect(cond(await entry(t.state, 'VnicAttachment/default/vm1-nic0'), 'Synced')).toMatchObject({ status: 'True' });
  }, 90_000);
});
