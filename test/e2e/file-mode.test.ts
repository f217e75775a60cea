// File mode end to end: the real CLI in a child process, with the test driver against the
// in-memory FakeBackend (served by this test process, so it outlives a SIGKILLed netform).
import { rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../support/fake-backend.ts';
import { runCli, startCli, tempDir, waitFor } from '../support/cli.ts';

const backend = new FakeBackend();
let url = '';

beforeAll(async () => {
  url = await backend.start();
});
afterAll(async () => {
  await backend.stop();
});

const provider = () => `apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: lab
spec:
  type: neutron
  endpoint: ${url}
  neutron:
    auth: noauth
`;

function network(name: string, opts: { vlan?: string; mtu?: number; deletion?: 'Delete' | 'Orphan'; subnet?: string; gateway?: string } = {}): string {
  return `apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: ${name}
spec:
  physicalNetwork: physnet1
  vlan: ${opts.vlan ?? '{poolRef: {name: pool}}'}
  mtu: ${opts.mtu ?? 1500}
  deletionPolicy: ${opts.deletion ?? 'Delete'}
  subnets:
    - name: ${name}-v4
      cidr: ${opts.subnet ?? '192.0.2.0/24'}
      gateway: ${opts.gateway ?? '192.0.2.1'}
  providerRefs:
    - name: lab
`;
}

/** A pool; tests share one backend, so each test draws from its own range. */
const pool = (min = 100) => `apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata:
  name: pool
spec:
  ranges:
    - physicalNetwork: physnet1
      min: ${min}
      max: ${min + 99}
  reserved:
    - min: ${min}
      reason: native VLAN
`;

interface StatusEntry {
  key: string;
  status: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; vlan?: number; providers?: { externalId?: string }[] };
}

async function status(state: string): Promise<Map<string, StatusEntry>> {
  const r = await runCli(['status', '--state', state, '-o', 'json']);
  expect(r.code).toBe(0);
  return new Map((JSON.parse(r.stdout) as StatusEntry[]).map((e) => [e.key, e]));
}

const ready = (e: StatusEntry | undefined) => e?.status.conditions?.find((c) => c.type === 'Ready')?.status;
const owned = (name: string) => backend.list('network', `owner:netform:Network/${name}`);

/** Runs `netform run` on the directory while `body` runs, then stops it: a clean exit, nothing on stderr. */
async function whileRunning(t: { dir: string; state: string }, body: (run: ReturnType<typeof startCli>) => Promise<void>): Promise<void> {
  const run = startCli(['run', '--dir', t.dir, '--state', t.state]);
  try {
    await body(run);
  } finally {
    run.child.kill('SIGTERM');
  }
  const r = await run.result;
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  rmSync(t.dir, { recursive: true, force: true });
}

function setup(name: string): { dir: string; state: string; write(file: string, text: string): void } {
  const dir = tempDir(`${name}-dir`);
  const state = join(tempDir(`${name}-state`), 'state');
  return { dir, state, write: (file, text) => writeFileSync(join(dir, file), text) };
}

describe('file mode', () => {
  it('applies a directory: every object Ready, the backend holds each network once, tagged with its owner', async () => {
    const t = setup('apply');
    t.write('provider.yaml', provider());
    t.write('pool.yaml', pool());
    t.write('networks.yaml', [network('alpha'), network('beta', { vlan: '{id: 300}', subnet: '198.51.100.0/24', gateway: '198.51.100.1' })].join('---\n'));
    const r = await runCli(['apply', '--dir', t.dir, '--state', t.state]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = await status(t.state);
    expect([...s.keys()].sort()).toEqual(['Network/alpha', 'Network/beta', 'Provider/lab', 'VlanPool/pool']);
    for (const e of s.values()) expect(ready(e), e.key).toBe('True');
    expect(owned('alpha')).toHaveLength(1);
    expect(owned('beta')).toHaveLength(1);
    // 100 is reserved: the pool hands out 101.
    expect(owned('alpha')[0]!.fields).toMatchObject({ vlan: 101, mtu: 1500, physicalNetwork: 'physnet1' });
    expect(s.get('Network/alpha')!.status.vlan).toBe(101);
    expect(s.get('Network/alpha')!.status.providers![0]!.externalId).toBe(owned('alpha')[0]!.id);
    expect(owned('beta')[0]!.fields.vlan).toBe(300);

    // A second apply with nothing changed writes nothing to the backend.
    const before = { ...backend.counters };
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state])).code).toBe(0);
    expect(backend.counters.creates).toBe(before.creates);
    expect(backend.counters.updates).toBe(before.updates);
    expect(backend.counters.deletes).toBe(before.deletes);

    // Plan against the converged state: no changes (exit 0).
    const plan = await runCli(['plan', '--dir', t.dir, '--state', t.state]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('0 to create, 0 to update, 0 to replace, 0 to delete');
  });

  it('after an edit, updates only what changed', async () => {
    const t = setup('edit');
    t.write('provider.yaml', provider());
    t.write('pool.yaml', pool());
    t.write('a.yaml', network('edit-a', { vlan: '{id: 400}' }));
    t.write('b.yaml', network('edit-b', { vlan: '{id: 401}' }));
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state])).code).toBe(0);
    const revA = owned('edit-a')[0]!.revision;
    const revB = owned('edit-b')[0]!.revision;
    t.write('b.yaml', network('edit-b', { vlan: '{id: 401}', mtu: 9000 }));

    const plan = await runCli(['plan', '--dir', t.dir, '--state', t.state]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/~ Network\/edit-b\s+neutron:lab network \S+\s+\(update\)\n\s+mtu: 1500 → 9000/);
    expect(plan.stdout).not.toContain('edit-a');

    const before = { ...backend.counters };
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state])).code).toBe(0);
    expect(backend.counters.updates - before.updates).toBe(1);
    expect(backend.counters.creates - before.creates).toBe(0);
    expect(owned('edit-b')[0]!.fields.mtu).toBe(9000);
    expect(owned('edit-b')[0]!.revision).toBe(revB + 1);
    expect(owned('edit-a')[0]!.revision).toBe(revA);
  });

  it('a removed file deletes its backend objects, or leaves them under deletionPolicy Orphan', async () => {
    const t = setup('remove');
    t.write('provider.yaml', provider());
    t.write('pool.yaml', pool(1000));
    t.write('gone.yaml', network('rm-delete'));
    t.write('kept.yaml', network('rm-orphan', { deletion: 'Orphan', subnet: '198.51.100.0/24', gateway: '198.51.100.1' }));
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state])).code).toBe(0);
    expect(owned('rm-delete')).toHaveLength(1);
    expect(owned('rm-orphan')).toHaveLength(1);
    const poolBefore = (await status(t.state)).get('VlanPool/pool')!.status as { allocations?: { network: string }[] };
    expect(poolBefore.allocations!.map((a) => a.network).sort()).toEqual(['rm-delete', 'rm-orphan']);

    unlinkSync(join(t.dir, 'gone.yaml'));
    unlinkSync(join(t.dir, 'kept.yaml'));
    const plan = await runCli(['plan', '--dir', t.dir, '--state', t.state]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/− Network\/rm-delete\s+neutron:lab network/);
    expect(plan.stdout).toMatch(/○ Network\/rm-orphan\s+neutron:lab network \S+\s+\(orphan\)/);

    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state])).code).toBe(0);
    expect(owned('rm-delete')).toHaveLength(0);
    expect(owned('rm-orphan')).toHaveLength(1);
    const s = await status(t.state);
    expect(s.has('Network/rm-delete')).toBe(false);
    expect(s.has('Network/rm-orphan')).toBe(false);
    expect((s.get('VlanPool/pool')!.status as { allocations?: unknown[] }).allocations).toEqual([]);
  });

  it('SIGKILL right after the backend committed a create, then a restart: the object exists exactly once', async () => {
    const t = setup('kill');
    t.write('provider.yaml', provider());
    t.write('pool.yaml', pool());
    t.write('k.yaml', network('kill-me', { vlan: '{id: 500}' }));
    let reached!: () => void;
    const hold = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    backend.holdCreates = async (o) => {
      if (o.fields.name !== 'kill-me') return;
      reached();
      await released; // the object is committed; netform never hears back
    };
    const run = startCli(['apply', '--dir', t.dir, '--state', t.state]);
    await hold;
    run.child.kill('SIGKILL');
    const killed = await run.result;
    expect(killed.signal).toBe('SIGKILL');
    backend.holdCreates = undefined;
    release();
    expect(owned('kill-me')).toHaveLength(1);

    const again = await runCli(['apply', '--dir', t.dir, '--state', t.state]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(owned('kill-me')).toHaveLength(1);
    expect(backend.createsByTag.get('owner:netform:Network/kill-me')).toBe(1);
    const s = await status(t.state);
    expect(s.get('Network/kill-me')!.status.providers![0]!.externalId).toBe(owned('kill-me')[0]!.id);
  });

  it('a broken file gets a clear error; its converged objects are kept and every other object converges', async () => {
    const t = setup('broken');
    t.write('provider.yaml', provider());
    t.write('pool.yaml', pool());
    t.write('stable.yaml', network('bk-stable', { vlan: '{id: 600}' }));
    t.write('victim.yaml', network('bk-victim', { vlan: '{id: 601}' }));
    expect((await runCli(['apply', '--dir', t.dir, '--state', t.state])).code).toBe(0);
    const stableRev = owned('bk-stable')[0]!.revision;

    // victim.yaml becomes unparsable; bad.yaml is valid YAML with a semantic error; new.yaml is fine.
    t.write('victim.yaml', 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: bk-victim\nspec: [oops\n');
    t.write('bad.yaml', network('bk-bad', { vlan: '{id: 602}', subnet: '203.0.113.0/24', gateway: '198.51.100.1' }));
    t.write('new.yaml', network('bk-new', { vlan: '{id: 603}' }));
    const r = await runCli(['apply', '--dir', t.dir, '--state', t.state]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:13:7: document 1 \(Network\/bk-bad\): spec\.subnets\[0\]\.gateway: gateway 198\.51\.100\.1 is outside 203\.0\.113\.0\/24/);
    expect(r.stderr).toMatch(/victim\.yaml:\d+:\d+: document 1: YAML syntax error: /);
    // Nothing converged was harmed, the invalid object never reached the backend, the valid one converged.
    expect(owned('bk-victim')).toHaveLength(1);
    expect(owned('bk-stable')[0]!.revision).toBe(stableRev);
    expect(owned('bk-bad')).toHaveLength(0);
    expect(owned('bk-new')).toHaveLength(1);
    const s = await status(t.state);
    expect(ready(s.get('Network/bk-new'))).toBe('True');
    expect(ready(s.get('Network/bk-victim'))).toBe('True');
    const bad = s.get('Network/bk-bad')!.status.conditions!.find((c) => c.type === 'Synced')!;
    expect(bad).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(bad.message).toContain('spec.subnets[0].gateway');
  });

  it('run watches the directory: a new file converges, an edit updates, a removal deletes', async () => {
    const t = setup('run');
    t.write('provider.yaml', provider());
    t.write('pool.yaml', pool());
    await whileRunning(t, async (run) => {
      await waitFor('the provider to be recorded', async () => run.output().stderr === '' && (await status(t.state)).get('Provider/lab'));
      t.write('w.yaml', network('watched', { vlan: '{id: 700}' }));
      await waitFor('the network on the backend', () => owned('watched')[0]);
      t.write('w.yaml', network('watched', { vlan: '{id: 700}', mtu: 9000 }));
      await waitFor('the MTU change', () => owned('watched')[0]?.fields.mtu === 9000);
      unlinkSync(join(t.dir, 'w.yaml'));
      await waitFor('the network to be deleted', () => owned('watched').length === 0);
    });
  });

  it('run never deletes an object moved to another file in two steps (removed, then written 200 ms later)', async () => {
    const t = setup('move');
    t.write('provider.yaml', provider());
    t.write('a.yaml', network('moved', { vlan: '{id: 710}', subnet: '203.0.113.0/24', gateway: '203.0.113.1' }));
    await whileRunning(t, async () => {
      await waitFor('the network on the backend', () => owned('moved')[0]);
      const id = owned('moved')[0]!.id;
      const deletes = backend.counters.deletes;
      // Longer than the watch's debounce, shorter than the second read that confirms a removal.
      unlinkSync(join(t.dir, 'a.yaml'));
      await new Promise((r) => setTimeout(r, 200));
      t.write('b.yaml', network('moved', { vlan: '{id: 710}', subnet: '203.0.113.0/24', gateway: '203.0.113.1', mtu: 9000 }));
      await waitFor('the MTU change from the new file', () => owned('moved')[0]?.fields.mtu === 9000);
      expect(backend.counters.deletes).toBe(deletes);
      expect(owned('moved').map((o) => o.id)).toEqual([id]);
      // A removal still deletes, after the second read.
      unlinkSync(join(t.dir, 'b.yaml'));
      await waitFor('the network to be deleted', () => owned('moved').length === 0);
    });
  });

  it('restarting run never deletes a declared object (the first load comes before any decision)', async () => {
    const t = setup('restart');
    t.write('provider.yaml', provider());
    for (let i = 0; i < 12; i++) t.write(`n${i}.yaml`, network(`rs-${i}`, { vlan: `{id: ${1200 + i}}`, subnet: `198.51.${i}.0/24`, gateway: `198.51.${i}.1` }));
    const first = await runCli(['apply', '--dir', t.dir, '--state', t.state]);
    expect(first.code).toBe(0);
    const deletes = backend.counters.deletes;
    const ids = () => Array.from({ length: 12 }, (_, i) => owned(`rs-${i}`).map((o) => o.id).join(','));
    const before = ids();
    for (let round = 0; round < 3; round++) {
      const run = startCli(['run', '--dir', t.dir, '--state', t.state, '--log-level', 'info']);
      try {
        await waitFor('every network to be Ready again', async () => {
          const st = await status(t.state);
          return Array.from({ length: 12 }, (_, i) => ready(st.get(`Network/rs-${i}`))).every((r) => r === 'True') && backend.counters.deletes === deletes;
        });
        // (The statuses were Ready from the apply already: wait for this run to have loaded and settled.)
        await waitFor('this run to have settled its load', () => run.output().stderr.includes('converged: every object is Ready'));
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        run.child.kill('SIGTERM');
      }
      expect((await run.result).code).toBe(0);
      expect(backend.counters.deletes).toBe(deletes);
    }
    expect(ids()).toEqual(before);
    rmSync(t.dir, { recursive: true, force: true });
  });
});

