// The kinds netform reconciles, in dependency order: an object only depends on kinds listed before
// its own (the engine reconciles in this order, and a plan lists in it). Adding a kind: declare it in
// its folder (see docs/architecture.md) and add it here.
import { clusterKind } from './cluster/cluster.kind.ts';
import { hostKind } from './host/host.kind.ts';
import { macPoolKind } from './macpool/macpool.kind.ts';
import { networkKind } from './network/network.kind.ts';
import { providerKind } from './provider/provider.kind.ts';
import { referencesFrom, type AnyKindDefinition } from './runtime/kind.ts';
import { routerKind } from './router/router.kind.ts';
import { securityGroupKind } from './secgroup/secgroup.kind.ts';
import { serviceEndpointKind } from './serviceendpoint/serviceendpoint.kind.ts';
import { vlanPoolKind } from './vlanpool/vlanpool.kind.ts';
import { vnicKind } from './vnic/vnic.kind.ts';
import { vnicProfileKind } from './vnicprofile/vnicprofile.kind.ts';
import { vmBindingKind, vmTemplateKind } from './vmtemplate/vmtemplate.kind.ts';

export const KIND_DEFINITIONS: readonly AnyKindDefinition[] = [providerKind, vlanPoolKind, macPoolKind, networkKind, clusterKind, hostKind, routerKind, securityGroupKind, vnicProfileKind, vnicKind, serviceEndpointKind, vmTemplateKind, vmBindingKind];

/** The keys an object refers to, sorted and without repeats. */
export const referencesOf = referencesFrom(KIND_DEFINITIONS);
