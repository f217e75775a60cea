// Objects in the shapes netform's controllers write (conditions from applyOutcome in
// src/api/conditions.ts, with the outcomes the controllers actually use), and what Argo CD (with
// manifests/argocd/health.lua) and kstatus (sigs.k8s.io/cli-utils) must make of each.
// Shared by argocd-health.test.ts and kstatus.test.ts, so the two readings are checked on the same
// objects.
import { applyOutcome, type Outcome } from '../../src/api/conditions.ts';
import type { Condition } from '../../src/api/kinds.ts';
import { loadCrds } from '../../src/api/crds.ts';

export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
export type KstatusStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'Unknown' | 'NotFound';

export interface StatusCase {
  name: string;
  object: Record<string, unknown>;
  argo: { status: ArgoHealth; message: string | RegExp };
  kstatus: { status: KstatusStatus; message: string | RegExp };
}

const NOW = new Date('2026-01-02T03:04:05Z');
/** From the CRDs: a kind added there is covered here without listing it. */
const NAMESPACED_KIND = new Map(loadCrds().map((c) => [c.kind, c.namespaced]));

function object(
  kind: string,
  name: string,
  generation: number,
  status: Record<string, unknown> | undefined,
  extra: { deletionTimestamp?: string; finalizers?: string[] } = {},
): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    name,
    uid: `00000000-0000-4000-8000-${String(generation).padStart(12, '0')}`,
    generation,
    resourceVersion: '42',
    creationTimestamp: '2026-01-01T00:00:00Z',
    ...extra,
  };
  if (NAMESPACED_KIND.get(kind)) metadata.namespace = 'team-a';
  const o: Record<string, unknown> = { apiVersion: 'netform.io/v1alpha1', kind, metadata, spec: {} };
  if (status) o.status = status;
  return o;
}

/** status as the controller writes it after an outcome observed at `observedGeneration`. */
function statusOf(outcome: Outcome, observedGeneration: number, previous?: Condition[]): Record<string, unknown> {
  return { observedGeneration, conditions: applyOutcome(previous, outcome, observedGeneration, NOW) };
}

const available = (message: string): Outcome => ({
  ready: { status: 'True', reason: 'Available', message },
  synced: { status: 'True', reason: 'ReconcileSuccess' },
});

const INVALID = 'networks.yaml:7: spec.vlan.id: must be <= 4094';
const REJECTED = 'neutron: 400 Bad Request: VLAN 301 on physnet2 is in use';
const AGENT_LOST = 'no report from the host agent for over 180s (last at 2026-01-02T03:00:00.000Z)';
const DELETING = 'removing the network from 1 provider';

/** A backend refused the request: Stalled. */
const rejected: Outcome = {
  ready: { status: 'False', reason: 'Unavailable', message: REJECTED },
  synced: { status: 'False', reason: 'BackendRejected', message: REJECTED },
  stalled: true,
};

export const STATUS_CASES: StatusCase[] = [
  {
    name: 'a new object the controller has not written yet (no status)',
    object: object('Network', 'fresh', 1, undefined),
    argo: { status: 'Progressing', message: 'Waiting for the controller' },
    // kstatus cannot tell a CR without status from one that has none to give; the apiserver never
    // serves ours like this (next case).
    kstatus: { status: 'Current', message: 'Resource is current' },
  },
  {
    name: 'a new object as the apiserver serves it: status defaulted to observedGeneration 0',
    object: object('Network', 'fresh', 1, { observedGeneration: 0 }),
    argo: { status: 'Progressing', message: 'Waiting for the controller to observe generation 1 (last observed: 0)' },
    kstatus: { status: 'InProgress', message: 'Network generation is 1, but latest observed generation is 0' },
  },
  {
    name: 'Ready for the current generation',
    object: object('Network', 'web', 3, statusOf(available('in sync on 1 provider'), 3)),
    argo: { status: 'Healthy', message: 'in sync on 1 provider' },
    kstatus: { status: 'Current', message: 'Resource is Ready' },
  },
  {
    name: 'a Provider that answers',
    object: object('Provider', 'openstack', 1, statusOf(available('Neutron 2.0'), 1)),
    argo: { status: 'Healthy', message: 'Neutron 2.0' },
    kstatus: { status: 'Current', message: 'Resource is Ready' },
  },
  {
    name: 'a VnicAttachment (namespaced) that is Ready',
    object: object('VnicAttachment', 'web1-nic1', 1, statusOf(available('port up on hv1'), 1)),
    argo: { status: 'Healthy', message: 'port up on hv1' },
    kstatus: { status: 'Current', message: 'Resource is Ready' },
  },
  {
    name: 'being created, a backend failed transiently (Reconciling)',
    object: object(
      'Network',
      'db',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'Creating', message: 'neutron: 503 Service Unavailable' },
          synced: { status: 'False', reason: 'ReconcileError', message: 'neutron: 503 Service Unavailable' },
          progressing: true,
        },
        1,
      ),
    ),
    argo: { status: 'Progressing', message: 'neutron: 503 Service Unavailable' },
    kstatus: { status: 'InProgress', message: 'neutron: 503 Service Unavailable' },
  },
  {
    name: 'waiting for a dependency (Reconciling)',
    object: object(
      'Host',
      'hv1',
      2,
      statusOf(
        {
          ready: { status: 'False', reason: 'WaitingForDependencies', message: 'Cluster prod is not available' },
          synced: { status: 'True', reason: 'ReconcileSuccess' },
          progressing: true,
        },
        2,
      ),
    ),
    argo: { status: 'Progressing', message: 'Cluster prod is not available' },
    kstatus: { status: 'InProgress', message: 'Cluster prod is not available' },
  },
  {
    name: 'an invalid spec (Stalled, Ready Unknown)',
    object: object(
      'VlanPool',
      'tenants',
      1,
      statusOf(
        {
          ready: { status: 'Unknown', reason: 'WaitingForDependencies' },
          synced: { status: 'False', reason: 'InvalidSpec', message: INVALID },
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: INVALID },
    kstatus: { status: 'Failed', message: INVALID },
  },
  {
    name: 'a backend refused the request (Stalled)',
    object: object('Network', 'tenant-a', 4, statusOf(rejected, 4)),
    argo: { status: 'Degraded', message: REJECTED },
    kstatus: { status: 'Failed', message: REJECTED },
  },
  {
    name: 'a replace that needs spec.allowReplace (Stalled)',
    object: object(
      'Network',
      'migration',
      2,
      statusOf(
        {
          ready: { status: 'False', reason: 'Unavailable', message: 'vlan.id 20 -> 21 needs a replace' },
          synced: { status: 'False', reason: 'ReplaceRequired', message: 'vlan.id 20 -> 21 needs a replace' },
          stalled: true,
        },
        2,
      ),
    ),
    argo: { status: 'Degraded', message: 'vlan.id 20 -> 21 needs a replace' },
    kstatus: { status: 'Failed', message: 'vlan.id 20 -> 21 needs a replace' },
  },
  {
    name: 'wrong Provider credentials (Stalled)',
    object: object(
      'Provider',
      'ucs-a',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'Unavailable', message: 'Secret netform-system/ucs-a has no key password' },
          synced: { status: 'False', reason: 'CredentialsError', message: 'Secret netform-system/ucs-a has no key password' },
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: 'Secret netform-system/ucs-a has no key password' },
    kstatus: { status: 'Failed', message: 'Secret netform-system/ucs-a has no key password' },
  },
  {
    name: 'ObserveOnly drift: Synced=False DriftDetected and Stalled (only the user can resolve it)',
    object: object(
      'Network',
      'legacy',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'Unavailable', message: 'mtu: backend 1500, spec 9000' },
          synced: { status: 'False', reason: 'DriftDetected', message: 'mtu: backend 1500, spec 9000' },
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: 'mtu: backend 1500, spec 9000' },
    kstatus: { status: 'Failed', message: 'mtu: backend 1500, spec 9000' },
  },
  {
    name: 'changes held for approval on a network that serves as last applied (Suspended for Argo CD; Current for kstatus)',
    object: object(
      'Network',
      'held',
      2,
      statusOf(
        {
          ready: { status: 'True', reason: 'Available', message: 'as last applied; changes await approval' },
          synced: { status: 'False', reason: 'AwaitingApproval', message: '1 change held: approve plan sha256:ab (netform approve Network/held --plan sha256:ab)' },
        },
        2,
      ),
    ),
    argo: { status: 'Suspended', message: '1 change held: approve plan sha256:ab (netform approve Network/held --plan sha256:ab)' },
    kstatus: { status: 'Current', message: 'Resource is Ready' },
  },
  {
    name: 'a new network held for approval (Suspended for Argo CD; InProgress for kstatus: nothing was applied yet)',
    object: object(
      'Network',
      'held-new',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'AwaitingApproval', message: 'changes await approval of plan sha256:cd' },
          synced: { status: 'False', reason: 'AwaitingApproval', message: '1 change held: approve plan sha256:cd' },
        },
        1,
      ),
    ),
    argo: { status: 'Suspended', message: '1 change held: approve plan sha256:cd' },
    kstatus: { status: 'InProgress', message: 'changes await approval of plan sha256:cd' },
  },
  {
    name: 'a Host out of sync under syncPolicy Manual (Stalled: netform reports, the user heals)',
    object: object(
      'Host',
      'hv2',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'OutOfSync', message: 'migration: mtu 1500, want 9000' },
          synced: { status: 'False', reason: 'DriftDetected', message: 'syncPolicy Manual: differences are reported, not healed' },
          progressing: true,
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: 'syncPolicy Manual: differences are reported, not healed' },
    kstatus: { status: 'Failed', message: 'syncPolicy Manual: differences are reported, not healed' },
  },
  {
    name: 'a Host whose agent reports problems while its networks are in sync (Ready=True, Stalled=True)',
    object: object(
      'Host',
      'hv3',
      1,
      statusOf(
        {
          ready: { status: 'True', reason: 'Available' },
          synced: { status: 'False', reason: 'BackendRejected', message: 'bond1: member ens1f1 is missing' },
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: 'bond1: member ens1f1 is missing' },
    kstatus: { status: 'Failed', message: 'bond1: member ens1f1 is missing' },
  },
  {
    name: 'a new generation not yet observed (Ready=True of generation 1)',
    object: object('Cluster', 'prod', 2, statusOf(available('3 hosts in sync'), 1)),
    argo: { status: 'Progressing', message: 'Waiting for the controller to observe generation 2 (last observed: 1)' },
    kstatus: { status: 'InProgress', message: 'Cluster generation is 2, but latest observed generation is 1' },
  },
  {
    name: 'a new generation not yet observed, the old one Stalled',
    object: object('Network', 'fixed', 3, statusOf(rejected, 2)),
    argo: { status: 'Progressing', message: 'Waiting for the controller to observe generation 3 (last observed: 2)' },
    kstatus: { status: 'InProgress', message: 'Network generation is 3, but latest observed generation is 2' },
  },
  {
    name: 'being deleted (Reconciling, Deleting)',
    object: object(
      'Network',
      'old',
      2,
      statusOf(
        {
          ready: { status: 'False', reason: 'Deleting', message: DELETING },
          synced: { status: 'True', reason: 'ReconcileSuccess' },
          progressing: true,
        },
        2,
      ),
      { deletionTimestamp: '2026-01-02T03:00:00Z', finalizers: ['netform.io/cleanup'] },
    ),
    argo: { status: 'Progressing', message: `Being deleted: ${DELETING}` },
    kstatus: { status: 'Terminating', message: 'Resource scheduled for deletion' },
  },
  {
    name: 'a deletion blocked by users of the object (DeletionBlocked, Reconciling)',
    object: object(
      'Network',
      'shared',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'Deleting', message: 'waiting for the objects that use it' },
          synced: { status: 'False', reason: 'DeletionBlocked', message: 'still used by Cluster/prod' },
          progressing: true,
        },
        1,
      ),
      { deletionTimestamp: '2026-01-02T03:00:00Z', finalizers: ['netform.io/cleanup'] },
    ),
    argo: { status: 'Progressing', message: 'Being deleted: waiting for the objects that use it' },
    kstatus: { status: 'Terminating', message: 'Resource scheduled for deletion' },
  },
  {
    name: 'a deletion the backend refuses (Deleting, Stalled)',
    object: object(
      'Network',
      'stuck',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'Deleting', message: 'neutron: 409 network has ports' },
          synced: { status: 'False', reason: 'BackendRejected', message: 'neutron: 409 network has ports' },
          stalled: true,
        },
        1,
      ),
      { deletionTimestamp: '2026-01-02T03:00:00Z', finalizers: ['netform.io/cleanup'] },
    ),
    argo: { status: 'Degraded', message: 'Deletion stalled: neutron: 409 network has ports' },
    kstatus: { status: 'Terminating', message: 'Resource scheduled for deletion' },
  },
  {
    name: 'an outcome asking for both Reconciling and Stalled: Stalled wins',
    object: object(
      'Network',
      'both',
      1,
      statusOf(
        {
          ready: { status: 'False', reason: 'Updating', message: 'retrying' },
          synced: { status: 'False', reason: 'BackendRejected', message: REJECTED },
          progressing: true,
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: REJECTED },
    // applyOutcome never sets both True (kstatus would read whichever comes first).
    kstatus: { status: 'Failed', message: REJECTED },
  },
  {
    name: 'a Host whose agent stopped reporting (AgentLost)',
    object: object(
      'Host',
      'hv3',
      1,
      statusOf(
        {
          ready: { status: 'Unknown', reason: 'AgentLost', message: AGENT_LOST },
          synced: { status: 'Unknown', reason: 'AgentLost', message: 'the host agent is not reporting' },
          stalled: true,
        },
        1,
      ),
    ),
    argo: { status: 'Degraded', message: 'the host agent is not reporting' },
    kstatus: { status: 'Failed', message: 'the host agent is not reporting' },
  },
  // Every kind in crds/, Ready and then Stalled: the health script reads conditions only, so each
  // kind's key in argocd-cm must give the same answers (a new kind is covered without listing it).
  ...loadCrds().flatMap((c): StatusCase[] => [
    {
      name: `a ${c.kind} that is Ready`,
      object: object(c.kind, 'any', 2, statusOf(available(`${c.kind} ready`), 2)),
      argo: { status: 'Healthy', message: `${c.kind} ready` },
      kstatus: { status: 'Current', message: 'Resource is Ready' },
    },
    {
      name: `a ${c.kind} whose backend refused it (Stalled)`,
      object: object(
        c.kind,
        'any',
        2,
        statusOf(
          {
            ready: { status: 'False', reason: 'Unavailable', message: REJECTED },
            synced: { status: 'False', reason: 'BackendRejected', message: REJECTED },
            stalled: true,
          },
          2,
        ),
      ),
      argo: { status: 'Degraded', message: REJECTED },
      kstatus: { status: 'Failed', message: REJECTED },
    },
  ]),
];
