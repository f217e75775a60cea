// The console's pure parts in node (graph folding and grouping, the Networks filter and sort, the Out
// of sync and Plan entries), and static checks of what the browser is served: no inline script or
// style (CSP default-src 'self'), no innerHTML, ES modules only, and every /vendor file the console
// loads — and every file those import — on the allow-list (console/vendor.json).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { equivalenceClasses, foldNodes, groupEquivalent, neighbourhood, prepareGraph, structureOf } from '../../console/lib/graph.js';
import { filterRows, sortRows } from '../../console/lib/network-rows.js';
import { formatAge, formatRate, formatSpeed, hrefOfKey, parseKey, worstHealth } from '../../console/lib/format.js';
import { readEvents } from '../../console/lib/live.js';
import { applyPatch } from '../../console/lib/patch.js';
import { patchOf, sections } from '../../src/adapters/http/console.ts';
import type { ConsoleView } from '../../src/console/view.ts';
import fc from 'fast-check';
import { outOfSyncEntries } from '../../console/views/out-of-sync.js';
import { pendingPlans } from '../../console/views/plan.js';
import { CONSOLE_DIR, REPO, vendorPackages } from '../harness/console-target.ts';
import { bigView, ID, quickstartView, withSecondHost } from './fixtures.ts';
// The console's own (JSDoc) types: what its pure modules take.
import type { TopoEdge, TopoNode } from '../../console/types.js';

const node = (id: string, kind: TopoNode['kind'], health: TopoNode['health'] = 'ok'): TopoNode => ({ id, kind, label: id, health });
const e = (from: string, to: string): TopoEdge => ({ from, to });
const keys = (edges: TopoEdge[]) => edges.map((x) => `${x.from}>${x.to}`).sort();

describe('graph', () => {
  it('folds host devices into the edges that pass through them', () => {
    const nodes = [node('h', 'host'), node('nic', 'nic'), node('br', 'bridge'), node('net', 'network'), node('vm', 'vm')];
    const edges = [e('h', 'nic'), e('nic', 'br'), e('br', 'net'), e('net', 'vm')];
    const g = foldNodes(nodes, edges, (n: TopoNode) => n.kind === 'nic' || n.kind === 'bridge');
    expect(g.nodes.map((n: TopoNode) => n.id)).toEqual(['h', 'net', 'vm']);
    expect(keys(g.edges)).toEqual(['h>net', 'net>vm']);
  });

  it('joins the neighbours of a folded node that only has incoming (or outgoing) edges', () => {
    const g = foldNodes([node('a', 'network'), node('b', 'host'), node('x', 'bond')], [e('a', 'x'), e('b', 'x')], (n: TopoNode) => n.id === 'x');
    expect(keys(g.edges)).toEqual(['a>b']);
  });

  it('groups more than the threshold of equivalent nodes, with their count and worst health', () => {
    const nodes = [node('net', 'network'), node('net2', 'network'), ...Array.from({ length: 8 }, (_, i) => node(`vm${i}`, 'vm', i === 3 ? 'degraded' : 'ok')), node('lone', 'vm')];
    const edges = [...Array.from({ length: 8 }, (_, i) => e('net', `vm${i}`)), e('net', 'lone'), e('net2', 'lone')];
    const g = groupEquivalent(nodes, edges, new Set(), 5);
    const groups = g.nodes.filter((n: TopoNode) => n.kind === 'group');
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ count: 8, health: 'degraded', label: '8 VMs', collapsed: true });
    expect(g.nodes.map((n: TopoNode) => n.id)).toContain('lone');
    expect(keys(g.edges)).toEqual([`net>${groups[0]!.id}`, 'net>lone', 'net2>lone'].sort());
    // Expanded by the user: drawn one by one again.
    expect(groupEquivalent(nodes, edges, new Set([groups[0]!.id]), 5).nodes).toHaveLength(nodes.length);
    // At the threshold: not grouped.
    expect(groupEquivalent(nodes, edges, new Set(), 8).nodes).toHaveLength(nodes.length);
  });

  it('groups hosts whose NICs and bridges carry the same networks, with those NICs and bridges; a different one stays', () => {
    const nodes: TopoNode[] = [node('n1', 'network'), node('n2', 'network')];
    const edges: TopoEdge[] = [];
    for (let i = 0; i < 10; i++) {
      nodes.push(node(`h${i}`, 'host'), node(`h${i}/ens3`, 'nic'), node(`h${i}/br`, 'bridge'));
      edges.push(e(`h${i}`, `h${i}/ens3`), e(`h${i}/ens3`, `h${i}/br`), e(`h${i}/br`, 'n1'));
      if (i !== 9) edges.push(e(`h${i}/br`, 'n2'));
    }
    const g = groupEquivalent(nodes, edges, new Set(), 5);
    expect(g.nodes.filter((n: TopoNode) => n.kind === 'group').map((n: TopoNode) => [n.id, n.count])).toEqual([
      ['group:host:h0', 9],
      ['group:nic:h0/ens3', 9],
      ['group:bridge:h0/br', 9],
    ]);
    // Networks are never grouped; h9 (on n1 only) is drawn with its own devices.
    expect(g.nodes.map((n: TopoNode) => n.id)).toEqual(expect.arrayContaining(['n1', 'n2', 'h9', 'h9/ens3', 'h9/br']));
    expect(keys(g.edges)).toEqual(
      ['group:host:h0>group:nic:h0/ens3', 'group:nic:h0/ens3>group:bridge:h0/br', 'group:bridge:h0/br>n1', 'group:bridge:h0/br>n2', 'h9>h9/ens3', 'h9/ens3>h9/br', 'h9/br>n1'].sort(),
    );
    // Anchors: two networks with the same neighbours stay two.
    expect(equivalenceClasses(nodes, edges).get('n1')).not.toBe(equivalenceClasses(nodes, edges).get('n2'));
  });

  it('keeps what connects to a node, not going on through other networks', () => {
    const v = withSecondHost(quickstartView());
    const ids = (id: string) => neighbourhood(v.topology, id, 3).nodes.map((n: TopoNode) => n.id).sort();
    // demo: its networks, bridges, NICs and VMs — not hv2, which also carries web.
    expect(ids(ID.host('demo'))).toEqual(quickstartView().topology.nodes.map((n) => n.id).sort());
    expect(ids(ID.host('hv2'))).toEqual([ID.host('hv2'), ID.bridge('hv2', 'br-int'), ID.nic('hv2', 'ens3'), ID.network('web'), ID.vm('shop', 'solo')].sort());
    expect(neighbourhood(v.topology, 'nothing', 3)).toBe(v.topology);
  });

  it('drops edges to nodes the view lacks, and keys the layout by structure, not health', () => {
    const v = quickstartView();
    const topo = { nodes: v.topology.nodes, edges: [...v.topology.edges, e('network:web', 'vm:gone')] };
    const g = prepareGraph(topo, { expanded: new Set(), showDevices: true });
    expect(g.edges).toHaveLength(v.topology.edges.length);
    const sick = { nodes: topo.nodes.map((n) => (n.id === 'network:web' ? { ...n, health: 'degraded' as const } : n)), edges: topo.edges };
    expect(structureOf(prepareGraph(sick, { expanded: new Set(), showDevices: true }))).toBe(structureOf(g));
    const folded = prepareGraph(topo, { expanded: new Set(), showDevices: false });
    expect(folded.nodes.map((n: TopoNode) => n.kind)).not.toContain('nic');
    // host → bridge → NIC, and bridge → VM: folded, the VMs hang off the host.
    expect(keys(folded.edges)).toEqual(keys([...['db', 'ovirtmgmt', 'web'].map((n) => e(ID.network(n), ID.host('demo'))), ...['db1', 'web1', 'web2'].map((vm) => e(ID.host('demo'), ID.vm('shop', vm)))]));
  });
});

describe('networks: filter and sort', () => {
  const rows = bigView(100).networks;
  it('filters by every word, anywhere in the row', () => {
    expect(filterRows(rows, 'net-00042').map((r: { name: string }) => r.name)).toEqual(['net-00042']);
    const hits = filterRows(rows, 'DEGRADED physnet3');
    expect(hits.length).toBeGreaterThan(0);
    for (const r of hits) expect([r.health, r.physicalNetwork]).toEqual(['degraded', 'physnet3']);
    expect(filterRows(rows, '  ')).toBe(rows);
    expect(filterRows(rows, 'BackendRejected').every((r: { synced?: { reason?: string } }) => r.synced?.reason === 'BackendRejected')).toBe(true);
  });
  it('sorts numbers as numbers, missing values last both ways, ties by name', () => {
    const asc = sortRows(rows, { column: 'vlan', direction: 'ascending' });
    const desc = sortRows(rows, { column: 'vlan', direction: 'descending' });
    const vl = (rs: { vlan?: number }[]) => rs.map((r) => r.vlan);
    const tagged = vl(asc).filter((x: number | undefined) => x !== undefined) as number[];
    expect(tagged).toEqual([...tagged].sort((a, b) => a - b));
    expect(vl(asc).at(-1)).toBeUndefined();
    expect(vl(desc).at(-1)).toBeUndefined();
    expect(vl(desc)[0]).toBe(Math.max(...tagged));
    const byMtu = sortRows(rows, { column: 'mtu', direction: 'ascending' });
    const nines = byMtu.filter((r: { mtu: number }) => r.mtu === 9000).map((r: { name: string }) => r.name);
    expect(nines).toEqual([...nines].sort());
  });
});

describe('format', () => {
  it.each([
    [['ok', 'ok'], 'ok'],
    [['ok', 'progressing'], 'progressing'],
    [['unknown', 'ok'], 'unknown'],
    [['progressing', 'degraded', 'unknown'], 'degraded'],
  ] as const)('worst of %j is %s', (hs, want) => expect(worstHealth([...hs])).toBe(want));
  it('speeds, rates, ages and keys', () => {
    expect([formatSpeed(10000), formatSpeed(100), formatSpeed(undefined)]).toEqual(['10 Gb/s', '100 Mb/s', '—']);
    expect([formatRate(1.234), formatRate(12.34), formatRate(123.4)]).toEqual(['1.23 Mb/s', '12.3 Mb/s', '123 Mb/s']);
    expect(formatAge('2026-12-05T04:00:00Z', Date.parse('2026-12-05T04:00:12Z'))).toBe('12 s ago');
    expect(parseKey('VnicAttachment/shop/web1-nic1')).toEqual({ kind: 'VnicAttachment', namespace: 'shop', name: 'web1-nic1' });
    expect([hrefOfKey('Host/demo'), hrefOfKey('Network/web'), hrefOfKey('Cluster/default')]).toEqual(['#/hosts/demo', '#/networks/web', undefined]);
  });
});

describe('out of sync and plans', () => {
  it('lists hosts and networks with differences, and objects awaiting approval, each with its plan', () => {
    const v = quickstartView();
    v.hosts[0]!.outOfSync = [{ name: 'ens4', difference: 'mtu' }];
    v.networks.find((n) => n.name === 'db')!.outOfSync = 'vlan 101 on the switch, 103 declared';
    const web = v.objects.find((o) => o.key === 'Network/web')!;
    web.pendingPlan = { digest: 'd1', changes: ['~ mtu'] };
    const vnic = v.objects.find((o) => o.kind === 'VnicAttachment')!;
    vnic.synced = { status: 'False', reason: 'DriftDetected', message: 'port changed behind netform' };
    const entries = outOfSyncEntries(v);
    expect(entries.map((x: { key: string }) => x.key)).toEqual(['Host/demo', 'Network/db', 'Network/web', vnic.key]);
    expect(entries[2]).toMatchObject({ plan: { digest: 'd1' } });
    expect(entries[3]).toMatchObject({ differences: [{ difference: 'port changed behind netform' }] });
    v.hosts[0]!.pendingPlan = { digest: 'h1', changes: [] };
    expect(pendingPlans(v).map((p: { key: string; plan: { digest: string } }) => [p.key, p.plan.digest])).toEqual([
      ['Host/demo', 'h1'],
      ['Network/web', 'd1'],
    ]);
  });
});

describe('the event-stream reader', () => {
  it('reads events split anywhere, CRLF or LF, multi-line data, comments and retry', async () => {
    const text = ': ping\r\nretry: 2000\r\n\r\nevent: view\nid: 1\ndata: {"a":\ndata: 1}\n\nevent: patch\ndata: x\r\n\r\n: ping\n\nevent: view\ndata: {"b":2}\n\n';
    // Cut into chunks of 3 bytes: lines, CRLFs and multi-byte characters fall across reads.
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    const events: [string, string][] = [];
    const retries: number[] = [];
    await readEvents(body, (ev: string, data: string) => events.push([ev, data]), (ms: number) => retries.push(ms));
    expect(events).toEqual([
      ['view', '{"a":\n1}'],
      ['patch', 'x'],
      ['view', '{"b":2}'],
    ]);
    expect(retries).toEqual([2000]);
  });

  it('takes a CR ending one read and an LF starting the next as one line break', async () => {
    const chunks = ['event: view\r', '\ndata: a\r', '\ndata: b\r', '\n\r', '\nevent: view\ndata: c\n\n'];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const x of chunks) c.enqueue(new TextEncoder().encode(x));
        c.close();
      },
    });
    const events: [string, string][] = [];
    await readEvents(body, (ev: string, data: string) => events.push([ev, data]), () => undefined);
    expect(events).toEqual([
      ['view', 'a\nb'],
      ['view', 'c'],
    ]);
  });
});

/** Every file under dir (recursively). */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** The module specifiers a JS file imports (static and dynamic). */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('a patch applied to the view before it', () => {
  /** Edits of a view: rows changed, added and removed, topology and flags, events appended past the ring. */
  let made = 0; // events are told apart by their content (the server compares the newest): each is new
  const edit = (v: ConsoleView, ops: number[]): ConsoleView => {
    const next = structuredClone(v) as ConsoleView;
    for (const [i, op] of ops.entries()) {
      const n = next.networks;
      switch (op % 8) {
        case 0:
          if (n.length) n[i % n.length]!.mtu += 1;
          break;
        case 1:
          if (n.length) n.splice(i % n.length, 1);
          break;
        case 2: {
          const name = `new-${i}-${op}`;
          if (!n.some((x) => x.name === name)) n.push({ ...structuredClone(v.networks[0]!), name, key: `Network/${name}` });
          n.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          break;
        }
        case 3:
          if (next.hosts.length) next.hosts[i % next.hosts.length]!.lastReport = `2026-12-05T05:00:0${i % 10}Z`;
          break;
        case 4:
          next.topology.nodes = next.topology.nodes.slice(1);
          break;
        case 5:
          next.canApprove = !next.canApprove;
          break;
        case 6:
          next.events.push({ time: `t${made++}`, key: 'Network/web', type: 'Ready', status: 'True' });
          if (next.events.length > 5) next.events.splice(0, next.events.length - 5); // the server's ring
          break;
        case 7:
          if (next.objects.length) next.objects.splice(i % next.objects.length, 1);
          break;
      }
    }
    next.generatedAt = `2026-12-05T06:00:00.${String(ops.length).padStart(3, '0')}Z`;
    return next;
  };

  it("gives exactly the next view, whatever changed (fast-check, the server's own patchOf)", () => {
    const base = withSecondHost(quickstartView());
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(40), { maxLength: 6 }), { minLength: 1, maxLength: 5 }), (steps) => {
        let before = base;
        let seen = base; // what the browser holds
        for (const ops of steps) {
          const after = edit(before, ops);
          const p = patchOf(sections(before), sections(after), after);
          if (p) seen = applyPatch(seen, p) as ConsoleView;
          else seen = { ...seen, generatedAt: after.generatedAt }; // nothing sent: nothing differs but the time
          expect(seen).toEqual(after);
          before = after;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('leaves the rows that did not change as they were (the same objects), and the view before untouched', () => {
    const before = bigView(1000);
    const after = structuredClone(before);
    after.networks[500]!.mtu = 9216;
    after.generatedAt = '2026-12-05T06:00:01Z';
    const p = patchOf(sections(before), sections(after), after)!;
    expect(p.networks).toEqual({ upsert: [after.networks[500]], remove: [] });
    const copy = structuredClone(before);
    const seen = applyPatch(before, p) as ConsoleView;
    expect(seen).toEqual(after);
    expect(seen.networks[499]).toBe(before.networks[499]);
    expect(before).toEqual(copy);
    // One row on the wire, not the view: the patch is a small fraction of the whole.
    expect(JSON.stringify(p).length * 100).toBeLessThan(JSON.stringify(after).length);
  });
});

describe('what the browser is served', () => {
  const js = files(CONSOLE_DIR).filter((f) => f.endsWith('.js'));

  it('index.html has no inline script, style or event handler, and loads app.js as a module', () => {
    const html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/<style/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).toMatch(/<script type="module" src="\/console\/app\.js"><\/script>/);
  });

  it('the scripts never parse strings as markup or code', () => {
    for (const f of js) {
      const text = readFileSync(f, 'utf8');
      expect(text, relative(REPO, f)).not.toMatch(/\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*['"]style['"]/);
    }
  });

  it('loads from /vendor only files of the allow-listed packages (console/vendor.json), and only files that import nothing else', () => {
    const packages = vendorPackages();
    const used = new Set<string>();
    for (const f of js) for (const m of readFileSync(f, 'utf8').matchAll(/['"](\/vendor\/[^'"]+)['"]/g)) used.add(m[1]!);
    expect([...used].sort()).toEqual(['/vendor/@tanstack/virtual-core/dist/esm/index.js', '/vendor/elkjs/lib/elk-api.js', '/vendor/elkjs/lib/elk-worker.min.js']);
    // The closure of the ES modules' imports, read from node_modules: relative, inside their package.
    const queue = [...used].filter((u) => u.endsWith('.js') && !u.includes('elk'));
    const seen = new Set<string>();
    while (queue.length) {
      const u = queue.pop()!;
      if (seen.has(u)) continue;
      seen.add(u);
      const pkg = packages.find((p) => u.startsWith(`/vendor/${p}/`));
      expect(pkg, `${u} is in no package of console/vendor.json`).toBeDefined();
      const path = join(REPO, 'node_modules', u.slice('/vendor/'.length));
      for (const spec of importsOf(readFileSync(path, 'utf8'))) {
        expect(spec.startsWith('./') || spec.startsWith('../'), `${u} imports ${spec}: not servable without a bundler`).toBe(true);
        const target = normalize(join(dirname(path), spec));
        expect(target.startsWith(join(REPO, 'node_modules', pkg!) + '/'), `${u} imports ${spec}, outside its package`).toBe(true);
        queue.push(`/vendor/${pkg}/${relative(join(REPO, 'node_modules', pkg!), target)}`);
      }
    }
    expect([...seen].sort()).toEqual(['index.js', 'ios-gesture.js', 'lazy-measurements.js', 'scroll-classifier.js', 'utils.js'].map((f) => `/vendor/@tanstack/virtual-core/dist/esm/${f}`));
    // elkjs's two files are classic scripts (a UMD bundle and a worker): they import nothing.
    for (const f of ['lib/elk-api.js', 'lib/elk-worker.min.js']) expect(importsOf(readFileSync(join(REPO, 'node_modules', 'elkjs', f), 'utf8')), f).toEqual([]);
    // No package listed that the console does not load; each a production dependency (the image
    // installs only those: npm ci --omit=dev), pinned in the lockfile.
    expect([...packages].sort()).toEqual(['@tanstack/virtual-core', 'elkjs']);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean }> };
    for (const p of packages) {
      expect(pkg.dependencies[p], `${p} in dependencies`).toBeDefined();
      expect(lock.packages[`node_modules/${p}`]?.version, `${p} pinned in package-lock.json`).toMatch(/^\d+\.\d+\.\d+$/);
      expect(lock.packages[`node_modules/${p}`]?.dev, `${p} not a dev dependency`).toBeUndefined();
    }
  });

  it('type-checks (its JSDoc types, against the DOM and the vendor modules\' own types)', () => {
    // Throws, with tsc's messages, on any error.
    execFileSync(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', 'console'], { cwd: REPO, encoding: 'utf8', stdio: 'pipe' });
  }, 60_000);

  it('the console imports only its own modules and /vendor, by paths the server serves', () => {
    for (const f of js) {
      for (const spec of importsOf(readFileSync(f, 'utf8'))) {
        expect(spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/vendor/'), `${relative(REPO, f)} imports ${spec}`).toBe(true);
      }
    }
  });
});
