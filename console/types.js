// The JSON the console reads (GET /api/v1/view, and each `view` event of GET /api/v1/stream), as JSDoc
// types: the server's ConsoleView (src/console/view.ts), by the same names; the fields the server
// added to the first contract are optional here. Nothing here runs; views import it for types.

/** @typedef {'ok' | 'progressing' | 'degraded' | 'unknown'} Health */
/** @typedef {{ status: 'True' | 'False' | 'Unknown', reason?: string, message?: string, since?: string }} Cond */
/** @typedef {{ digest: string, summary?: string, changes: string[], impact?: string, computedAt?: string }} PendingPlan */
/**
 * @typedef {object} NetworkRow
 * @property {string} name
 * @property {number} [vlan]
 * @property {number} mtu
 * @property {string} [physicalNetwork]
 * @property {{ name: string, externalId?: string }[]} providers
 * @property {Cond} [ready]
 * @property {Cond} [synced]
 * @property {Health} health
 * @property {string[]} hosts
 * @property {string[]} vnics
 * @property {string} [outOfSync]
 * @property {string} [key]
 * @property {Cond} [stalled]
 * @property {PendingPlan} [pendingPlan]
 * @property {string[]} [endpoints]
 * @property {string} [description]
 */
/**
 * @typedef {object} InterfaceRow
 * @property {string} name
 * @property {string} [address]
 * @property {string} [mac]
 * @property {number} [speedMbps]
 * @property {number} [rxMbps]
 * @property {number} [txMbps]
 * @property {number} [drops]
 * @property {string} [bond]
 * @property {string} [fabric]
 * @property {string} [network]
 */
/**
 * @typedef {object} HostView
 * @property {string} name
 * @property {string} [cluster]
 * @property {Health} health
 * @property {Cond} [ready]
 * @property {Cond} [synced]
 * @property {string} [lastReport]
 * @property {InterfaceRow[]} interfaces
 * @property {{ name: string, members: string[] }[]} bonds
 * @property {{ total: number, free: number }} [dynamicVnics]
 * @property {{ name: string, difference: string }[]} outOfSync
 * @property {PendingPlan} [pendingPlan]
 * @property {string} [key]
 * @property {Cond} [stalled]
 * @property {string} [address]
 * @property {string[]} [problems]  why the agent cannot realize the spec as it stands
 * @property {{ name: string, interface: string, fabric: string, inSync?: boolean }[]} [networks]  where each network rides
 */
/** @typedef {'provider'|'network'|'host'|'nic'|'bond'|'bridge'|'vm'|'router'|'endpoint'|'group'} TopoKind */
/**
 * @typedef {object} TopoNode
 * @property {string} id
 * @property {TopoKind} kind
 * @property {string} label
 * @property {Health} health
 * @property {string} [key]
 * @property {number} [count]
 * @property {string} [parent]   a device's host
 * @property {TopoKind} [groupOf]  a group: the kind it stands for
 * @property {string[]} [members]  a group: the ids it stands for
 * @property {string[]} [networks] a bridge: the networks riding it
 */
/** @typedef {{ from: string, to: string, kind?: string, label?: string }} TopoEdge */
/**
 * @typedef {object} ObjectRow
 * @property {string} key
 * @property {string} kind
 * @property {string} name
 * @property {string} [namespace]
 * @property {Health} health
 * @property {Cond} [ready]
 * @property {Cond} [synced]
 * @property {Cond} [stalled]
 * @property {PendingPlan} [pendingPlan]
 * @property {boolean} [declared]  false: only its record is left (being removed)
 * @property {string} [invalid]    admission errors of its latest declaration
 */
/** @typedef {{ time: string, key: string, type: string, status?: string, reason?: string, message?: string }} ConsoleEvent */
/**
 * @typedef {object} ConsoleView
 * @property {string} generatedAt
 * @property {'file' | 'cluster'} mode
 * @property {boolean} canApprove
 * @property {NetworkRow[]} networks
 * @property {HostView[]} hosts
 * @property {{ nodes: TopoNode[], edges: TopoEdge[] }} topology
 * @property {ObjectRow[]} objects
 * @property {ConsoleEvent[]} events
 */
/**
 * A `patch` event of GET /api/v1/stream?patch=1 (the server's ConsolePatch): what changed since the
 * view or patch before it, rows by key.
 * @typedef {object} ConsolePatch
 * @property {string} generatedAt
 * @property {'file' | 'cluster'} [mode]
 * @property {boolean} [canApprove]
 * @property {{ upsert: NetworkRow[], remove: string[] }} [networks]
 * @property {{ upsert: HostView[], remove: string[] }} [hosts]
 * @property {{ upsert: ObjectRow[], remove: string[] }} [objects]
 * @property {{ nodes: TopoNode[], edges: TopoEdge[] }} [topology]
 * @property {{ append: ConsoleEvent[], length: number } | { replace: ConsoleEvent[] }} [events]
 */

/**
 * What a view gets from the app.
 * @typedef {object} ViewContext
 * @property {string[]} params         the route's parts after the view's name (e.g. the host's name)
 * @property {(hash: string) => void} navigate
 * @property {(key: string, digest: string, what: string) => Promise<boolean>} approve  asks for the token when needed
 * @property {(text: string) => void} announce  says it in the live region (and a toast)
 * @property {import('./lib/samples.js').Samples} samples  Rx/Tx history per host interface
 */
/**
 * A mounted view. `update` may return a promise (the topology lays out in a worker): the app waits for
 * it before it marks the view rendered.
 * @typedef {object} MountedView
 * @property {(view: ConsoleView) => void | Promise<void>} update
 * @property {(params: string[]) => boolean} [route]   takes a new route of the same view in place; false: remount
 * @property {() => void} [unmount]
 */

export {};
