// `netform agent --host NAME` as its own process next to `netform run`: the agent converges a fake
// hypervisor (real kernel, real OVS) and writes its report into the run's state directory; the run
// folds it into the Host's status.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, waitFor, type Spawned } from '../support/cli.ts';
import { createHost, createSwitch, defaultStateRoot, ensureHostTools, sweep, uid, type FakeHost, type FakeSwitch } from '../harness/hostsim/index.ts';

const id = uid(4);
let sw: FakeSwitch;
let h: FakeHost;
let run: Spawned | undefined;
const base = mkdtempSync(join(defaultStateRoot(), 'cli-agent-'));
const dir = join(base, 'manifests');
const state = join(base, 'state');

beforeAll(async () => {
  await ensureHostTools();
  await sweep();
  sw = await createSwitch(id);
  h = await createHost({ id: `h${id}`, switch: sw, ovs: true });
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(
    join(dir, 'all.yaml'),
    [
      'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: p}\nspec: {ranges: [{physicalNetwork: physnet1, min: 300, max: 309}]}',
      'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: apps}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: p}}}',
      'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: ovs, networks: [{name: apps}]}',
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${h.id}}\nspec: {cluster: c, nics: [{name: ens3}], networks: [{name: apps, interface: ens3}]}`,
    ].join('\n---\n'),
  );
}, 60_000);

afterAll(async () => {
  run?.child.kill('SIGTERM');
  if (run) await run.result;
  await h?.stop();
  await sw?.stop();
});

describe('netform agent beside netform run', () => {
  it('the agent converges the host with the VLAN the run allocated; the run shows the Host Ready', async () => {
    run = startCli(['run', '--dir', dir, '--state', state], { real: true });
    const status = async () => JSON.parse((await runCli(['status', '--state', state, '-o', 'json'], { real: true })).stdout) as { key: string; status: Record<string, unknown> }[];
    await waitFor('the pool allocation', async () => (await status()).find((s) => s.key === 'Network/apps')?.status.vlan === 300);

    const agent = await runCli(['agent', '--host', h.id, '--dir', dir, '--state', state, '--netns', h.ns, '--ovs-db', h.ovs!.db, '--ovs-datapath', 'netdev', '--once'], { real: true });
    expect(agent.stderr).toBe('');
    expect(agent.code).toBe(0);
    const report = JSON.parse(readFileSync(join(state, 'hosts', `${h.id}.json`), 'utf8')) as { networks: unknown[]; lastApply?: { result: string } };
    expect(report.networks).toEqual([{ name: 'apps', inSync: true }]);
    expect(report.lastApply?.result).toBe('applied');
    expect((await h.ovs!.vsctl(['get', 'Port', 'ens3', 'trunks'])).trim()).toBe('[300]');

    await waitFor('the Host to be Ready in the run', async () => {
      const host = (await status()).find((s) => s.key === `Host/${h.id}`);
      return (host?.status.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready')?.status === 'True';
    });
    const host = (await status()).find((s) => s.key === `Host/${h.id}`)!;
    expect(host.status.networks).toEqual([{ name: 'apps', inSync: true }]);
    expect((host.status.interfaces as { name: string }[]).map((i) => i.name)).toEqual(expect.arrayContaining(['ens3', 'br-int']));
  });

  it('an agent that stops reporting for agentTimeoutSeconds makes its Host AgentLost; its next report clears it', async () => {
    const status = async () => JSON.parse((await runCli(['status', '--state', state, '-o', 'json'], { real: true })).stdout) as { key: string; status: Record<string, unknown> }[];
    const condition = async (type: string) =>
      ((await status()).find((s) => s.key === `Host/${h.id}`)?.status.conditions as { type: string; status: string; reason: string; message?: string }[] | undefined)?.find((c) => c.type === type);
    // The agent of the first test ran once and stopped. Ten seconds without a report is now too long.
    const manifests = readFileSync(join(dir, 'all.yaml'), 'utf8');
    writeFileSync(join(dir, 'all.yaml'), manifests.replace('spec: {cluster: c, ', 'spec: {cluster: c, agentTimeoutSeconds: 10, '));
    await waitFor('the Host to be AgentLost', async () => (await condition('Ready'))?.reason === 'AgentLost', 60_000);
    expect(await condition('Ready')).toMatchObject({ status: 'Unknown', reason: 'AgentLost' });
    expect(await condition('Stalled')).toMatchObject({ status: 'True', reason: 'AgentLost' });
    // The last reported state stays visible.
    expect((await status()).find((s) => s.key === `Host/${h.id}`)?.status.networks).toEqual([{ name: 'apps', inSync: true }]);

    const agent = await runCli(['agent', '--host', h.id, '--dir', dir, '--state', state, '--netns', h.ns, '--ovs-db', h.ovs!.db, '--ovs-datapath', 'netdev', '--once'], { real: true });
    expect(agent.code).toBe(0);
    await waitFor('the Host to be Ready again', async () => (await condition('Ready'))?.status === 'True', 60_000);
    expect((await condition('Stalled'))?.status).toBe('False');
  }, 150_000);
});
