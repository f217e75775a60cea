// The host an agent works on, from the configuration (wiring shared by the agent commands and `run`).
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config.ts';
import type { HostTarget } from '../drivers/host/agent.ts';
import { OvsdbClient } from '../drivers/host/ovsdb.ts';

/** Where Debian's Open vSwitch puts its database socket. */
export const DEFAULT_OVS_DB = '/var/run/openvswitch/db.sock';

/** Namespace, OVSDB socket, datapath and sysfs root of the host the agent converges. */
export function hostTarget(config: Config): HostTarget {
  const socket = config.ovsDb ?? (existsSync(DEFAULT_OVS_DB) ? DEFAULT_OVS_DB : undefined);
  return {
    ovsBridge: 'br-int',
    ovsDatapath: config.ovsDatapath,
    sysfsRoot: config.sysfsRoot,
    ...(config.netns ? { netns: config.netns } : {}),
    // ovs-vswitchd keeps its bridges' OpenFlow sockets in its run directory, which holds the database
    // socket too (Debian: /var/run/openvswitch; the demo: its private directory).
    ...(socket ? { ovs: () => OvsdbClient.connect(socket), ovsRunDir: dirname(socket) } : {}),
  };
}
