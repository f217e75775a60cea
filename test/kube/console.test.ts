// The console in cluster mode, on a real kube-apiserver: two `netform controller` replicas (leader
// election, the manifests' ServiceAccount) each serve it. The leader's view comes from its engine, the
// standby's from its watch caches; both list the networks and hosts with their conditions; a
// `kubectl patch` of a network's MTU reaches the standby's event stream; approval goes through the
// annotation's rule (nothing pending: 409; no such object: 404).
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeCluster } from '../harness/kube/cluster.ts';
import type { ConsoleView } from '../../src/console/view.ts';
import { installManifests, leaseHolder, ok, serviceAccountKubeconfig, startController, stopProcess, waitFor, type ControllerProcess } from './support.ts';
import { tempDir } from '../support/cli.ts';

const TOKEN = 'kube-console-token-0123456789abcdef';
let kube: KubeCluster;
const controllers: ControllerProcess[] = [];
const consoles = new Map<string, string>();
const run = Math.random().toString(36).slice(2, 7);
const n = (s: string) => `${s}-${run}`;

function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(`${base}${path.slice(1)}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    r.on('error', reject);
    r.end(body ? JSON.stringify(body) : undefined);
  });
}
const view = async (base: string) => JSON.parse((await call(base, 'GET', '/api/v1/view')).body) as ConsoleView;

beforeAll(async () => {
  kube = await startKube();
  await installManifests(kube);
  const kubeconfig = await serviceAccountKubeconfig(kube, 'netform-controller');
  const tokenFile = join(tempDir('kube-console'), 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  for (const id of ['console-a', 'console-b']) {
    const c = startController(kube, id, ['--leader-elect', '--ui', '127.0.0.1:0', '--ui-token-file', tokenFile], {}, kubeconfig);
    controllers.push(c);
    const line = await waitFor(`${id}'s console URL`, () => c.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('console at ')), 30_000);
    consoles.set(id, line.url as string);
  }
}, 30 * 60_000);

afterAll(async () => {
  for (const c of controllers) await stopProcess(c);
  await kube?.stop();
}, 120_000);

describe('the console in cluster mode', () => {
  it('leader and standby both serve the view; an MTU patch reaches the standby\'s stream; approval follows the digest rule', async () => {
    await ok(
      kube,
      ['apply', '-f', '-'],
      [
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${n('web')}}\nspec: {physicalNetwork: physnet1, vlan: {id: 120}, mtu: 9000}`,
        `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: ${n('c1')}}\nspec: {defaultFabric: ovs, networks: [{name: ${n('web')}}]}`,
        `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: ${n('hv1')}}\nspec: {cluster: ${n('c1')}, nics: [{name: eth0}], networks: [{name: ${n('web')}, interface: eth0}]}`,
      ].join('\n---\n'),
    );
    const leader = await waitFor('a leader', () => leaseHolder(kube));
    const standby = leader === 'console-a' ? 'console-b' : 'console-a';
    for (const id of [leader, standby]) {
      // The network Ready and the host reconciled once (a view can show the one before the other: CI met it).
      const v = await waitFor(`${id}'s view with the network Ready and the host reconciled`, async () => {
        const x = await view(consoles.get(id)!);
        return x.networks.find((w) => w.name === n('web'))?.ready?.status === 'True' && x.hosts.find((h) => h.name === n('hv1'))?.ready ? x : undefined;
      });
      expect(v.mode).toBe('cluster');
      expect(v.canApprove).toBe(true);
      expect(v.networks.find((w) => w.name === n('web'))).toMatchObject({ vlan: 120, mtu: 9000, physicalNetwork: 'physnet1', hosts: [n('hv1')], health: 'ok' });
      // No agent reports for the host: it waits, and says so.
      expect(v.hosts.find((h) => h.name === n('hv1'))).toMatchObject({ cluster: n('c1'), health: 'progressing', ready: { status: 'False', reason: 'WaitingForDependencies' } });
      const edges = v.topology.edges.map((e) => `${e.from} -> ${e.to}`);
      expect(edges).toContain(`network:${n('web')} -> host:${n('hv1')}`);
      expect(edges).toContain(`host:${n('hv1')}/bridge:br-int -> host:${n('hv1')}/nic:eth0`);
    }

    // The standby's stream sees an MTU patch (the leader writes the status; the standby's watch brings both).
    const base = consoles.get(standby)!;
    const views: { mtu?: number; at: number }[] = [];
    let buf = '';
    const req = request(`${base}api/v1/stream`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (/^event: view$/m.test(block) && data) views.push({ mtu: (JSON.parse(data) as ConsoleView).networks.find((w) => w.name === n('web'))?.mtu, at: Date.now() });
        }
      });
    });
    req.end();
    await waitFor('the first view on the stream', () => views.length >= 1);
    const t0 = Date.now();
    await ok(kube, ['patch', 'network', n('web'), '--type', 'merge', '-p', '{"spec": {"mtu": 1500}}']);
    const seen = await waitFor('a view event with MTU 1500', () => views.find((x) => x.mtu === 1500), 10_000);
    console.log(`console (cluster mode, standby): kubectl patch → SSE view event: ${seen.at - t0} ms`);
    expect(seen.at - t0).toBeLessThan(2000);
    req.destroy();

    // Approval through the console: the annotation's rule.
    const digest = `sha256:${'0'.repeat(64)}`;
    const none = await call(consoles.get(leader)!, 'POST', '/api/v1/approve', { key: `Network/${n('web')}`, digest });
    expect(none.status).toBe(409);
    expect(JSON.parse(none.body)).toMatchObject({ outcome: 'nothing-pending' });
    expect((await call(consoles.get(leader)!, 'POST', '/api/v1/approve', { key: `Network/${n('nope')}`, digest })).status).toBe(404);
    const web = JSON.parse(await ok(kube, ['get', 'network', n('web'), '-o', 'json'])) as { metadata: { annotations?: Record<string, string> } };
    expect(web.metadata.annotations?.['netform.io/approved-plan']).toBeUndefined();
    for (const c of controllers) expect(c.output().stderr).not.toContain(TOKEN);
  });
});
