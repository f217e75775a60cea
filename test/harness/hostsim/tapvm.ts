// VM stand-ins that use the tap the host agent makes, as a real VM does: the VM is a namespace
// `nfvm-<prefix>-<name>` whose NIC `eth0` (the vNIC's MAC, an address) is a veth to `wire` in the same
// namespace; its "hypervisor process" (tap-relay.py, what QEMU is to a real VM) opens the host's tap by
// name and copies frames between the tap and `wire`. A VM can have such a process on several hosts at
// once, each forwarding or paused: that is how a live migration is modelled (the destination's process
// opens its tap while the source's still forwards; at the switch-over the source pauses, the destination
// forwards and announces the VM's MAC with RARP, as QEMU does).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { claimNamespace, deleteNamespaces, ipBatch, releaseNamespace, type FakeHost } from './index.ts';

const RELAY = fileURLToPath(new URL('./tap-relay.py', import.meta.url));

export interface TapRelay {
  host: FakeHost;
  tap: string;
  /** Status lines so far: `open` (the tap is attached), `lost` (it went away), `on`, `off`. */
  lines: string[];
  /** Whether it currently holds the tap open. */
  attached(): boolean;
  /** Starts forwarding (and announces the VM's MAC). */
  resume(): void;
  /** Stops forwarding (frames both ways are dropped). */
  pause(): void;
  stop(): Promise<void>;
}

export interface TapVm {
  ns: string;
  /** The VM's address without prefix length. */
  address: string;
  mac: string;
  relays: TapRelay[];
  /** Starts the VM's hypervisor process on `host`, for the tap `tap` there. */
  attach(host: FakeHost, tap: string, o?: { forwarding?: boolean }): TapRelay;
  stop(): Promise<void>;
}

/** A VM stand-in (see the file's header). `prefix` and `name`: [a-z0-9], together at most 10 characters. */
export async function createTapVm(o: { prefix: string; name: string; address: string; mac: string }): Promise<TapVm> {
  if (!/^[a-z0-9]{1,10}$/.test(o.prefix + o.name)) throw new Error(`tapvm: bad name ${o.prefix}-${o.name}`);
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(o.mac)) throw new Error(`tapvm: bad MAC ${o.mac}`);
  const ns = `nfvm-${o.prefix}-${o.name}`;
  await claimNamespace(ns);
  const relays: TapRelay[] = [];
  const stop = async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await deleteNamespaces([ns]);
    await releaseNamespace(ns);
  };
  try {
    await ipBatch(null, [`netns add ${ns}`]);
    await ipBatch(ns, [
      'link set dev lo up',
      `link add name eth0 address ${o.mac} type veth peer name wire`,
      `addr add ${o.address} dev eth0`,
      'link set dev wire up',
      'link set dev eth0 up',
    ]);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const attach = (host: FakeHost, tap: string, a: { forwarding?: boolean } = {}): TapRelay => {
    const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'python3', RELAY, `/run/netns/${host.ns}`, tap, 'wire', o.mac, a.forwarding === false ? 'off' : 'on'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let err = '';
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const relay: TapRelay = {
      host,
      tap,
      lines,
      attached: () => lines.lastIndexOf('open') > lines.lastIndexOf('lost'),
      resume: () => void child.kill('SIGUSR1'),
      pause: () => void child.kill('SIGUSR2'),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        if (err && !/Terminated|KeyboardInterrupt/.test(err) && child.exitCode !== 0 && child.signalCode !== 'SIGTERM') {
          process.stderr.write(`[tapvm] relay ${ns} → ${host.ns}/${tap}: ${err.slice(-500)}\n`);
        }
      },
    };
    relays.push(relay);
    return relay;
  };
  return { ns, address: o.address.split('/')[0]!, mac: o.mac, relays, attach, stop };
}
