// Managed-object classes the UCSM emulator knows: naming, containment, which
// attributes exist (so unknown ones are refused), which of them a client may
// write, their value rules (reference §6.3, facts from the ucsmsdk 0.9.27 meta),
// the defaults a freshly created object shows, and the read-only attributes a
// real UCSM computes (so responses look like fixture 17).
//
// Classes not listed here are "generic": the emulator stores and returns them
// as seeded (tests may put() any inventory object, e.g. mgmtController), lets
// clients modify or delete them with any attribute, and refuses to create them
// (105), as a real UCSM does for inventory objects.

export type Access = 'naming' | 'rw' | 'co' | 'ro';

export interface PropRule {
  readonly access: Access;
  /** Accepted literal values. */
  readonly enum?: readonly string[];
  /** Accepted integer ranges (inclusive). */
  readonly ranges?: readonly (readonly [number, number])[];
  /** Accepted pattern, anchored by the validator. */
  readonly re?: RegExp;
  /** A comma-separated list whose items must each be in `enum`. */
  readonly list?: boolean;
}

/** A stored MO: class, DN and the attributes a client set (naming props included). */
export interface Mo {
  classId: string;
  dn: string;
  attrs: Record<string, string>;
}

/** Read access to the tree, for derivations and cross-object checks. */
export interface TreeView {
  get(dn: string): Mo | undefined;
  childrenOf(dn: string): Mo[];
  byClass(classId: string): Mo[];
}

export interface ClassSchema {
  readonly classId: string;
  /** Relative-name template, e.g. `net-[name]`, `[id]`, `class-best-effort`. */
  readonly rn: string;
  /** Parent classes under which clients may create this class (empty: not creatable). */
  readonly creatableUnder: readonly string[];
  readonly deletable: boolean;
  /** Get-only containers: a request may name them (to nest children) but not change them. */
  readonly readOnly?: boolean;
  readonly props: Readonly<Record<string, PropRule>>;
  /** Attributes that must be given when the object is created. */
  readonly required?: readonly string[];
  /** Values a new object shows for attributes the client did not set. */
  readonly defaults?: Readonly<Record<string, string>>;
  /** Read-only attributes computed from the object's effective attributes and the tree. */
  readonly derive?: (eff: Record<string, string>, dn: string, tree: TreeView) => Record<string, string>;
  /** Cross-object rule checked after a whole request was applied; returns an error description. */
  readonly check?: (eff: Record<string, string>, dn: string, tree: TreeView) => string | undefined;
}

// ---------------------------------------------------------------- helpers

const NAME = '[\\-\\.:_a-zA-Z0-9]';
const nameRe = (min: number, max: number): RegExp => new RegExp(`${NAME}{${min},${max}}`);
const DESCR = /[ !#$%&()*+,\-./:;?@[\]_{|}~a-zA-Z0-9]{0,256}/;
const FREE256 = /[ !#$%()*+,\-./:;?@[\\\]^_{|}~a-zA-Z0-9]{0,256}/;
const UUID0 = /(([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12})|0/;
const MAC0 = /(([0-9a-fA-F][0-9a-fA-F]:){5}([0-9a-fA-F][0-9a-fA-F]))|0/;
const IPV4 = /(([0-9]){1,3}\.){3}[0-9]{1,3}/;

const naming = (r: Omit<PropRule, 'access'>): PropRule => ({ access: 'naming', ...r });
const rw = (r: Omit<PropRule, 'access'> = {}): PropRule => ({ access: 'rw', ...r });
const co = (r: Omit<PropRule, 'access'> = {}): PropRule => ({ access: 'co', ...r });
const en = (...values: string[]): PropRule => rw({ enum: values });
const policyName = rw({ re: nameRe(0, 16) });
const YES_NO = ['false', 'no', 'true', 'yes'] as const;
const POLICY_OWNER = en('local', 'pending-policy', 'policy');

/** Read-only attributes, from a space-separated list. */
function ro(names: string): Record<string, PropRule> {
  const out: Record<string, PropRule> = {};
  for (const n of names.split(/\s+/).filter(Boolean)) out[n] = { access: 'ro' };
  return out;
}

/** Every class carries these: `dn`, `rn`, `status` are handled by the engine, `childAction` is RO. */
const COMMON: Record<string, PropRule> = { ...ro('childAction sacl') };

export function parentDn(dn: string): string {
  let depth = 0;
  for (let i = dn.length - 1; i >= 0; i--) {
    const c = dn[i];
    if (c === ']') depth++;
    else if (c === '[') depth--;
    else if (c === '/' && depth === 0) return dn.slice(0, i);
  }
  return '';
}

export function lastRn(dn: string): string {
  const p = parentDn(dn);
  return p === '' ? dn : dn.slice(p.length + 1);
}

export function joinDn(parent: string, rn: string): string {
  return parent === '' ? rn : `${parent}/${rn}`;
}

/** The naming properties in an rn template, in order. */
export function namingProps(schema: ClassSchema): string[] {
  return [...schema.rn.matchAll(/\[([A-Za-z]+)\]/g)].map((m) => m[1]!);
}

/** Build an rn from naming-property values; undefined when one is missing. */
export function rnFromNaming(schema: ClassSchema, attrs: Record<string, string>): string | undefined {
  let missing = false;
  const rn = schema.rn.replace(/\[([A-Za-z]+)\]/g, (_m, p: string) => {
    const v = attrs[p];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : rn;
}

/** Parse an rn against a template; returns the naming values or undefined when it does not fit. */
export function namingFromRn(schema: ClassSchema, rn: string): Record<string, string> | undefined {
  const props = namingProps(schema);
  const pattern = schema.rn
    .split(/\[[A-Za-z]+\]/)
    .map((lit) => lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('(.+)');
  const m = new RegExp(`^${pattern}$`).exec(rn);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  props.forEach((p, i) => {
    out[p] = m[i + 1]!;
  });
  return out;
}

/** Check a value against a rule; returns a description of the accepted values when it fails. */
export function checkValue(rule: PropRule, value: string): string | undefined {
  const okOne = (v: string): boolean => {
    if (rule.enum?.includes(v)) return true;
    if (rule.ranges && /^\d+$/.test(v)) {
      const n = Number(v);
      if (rule.ranges.some(([lo, hi]) => n >= lo && n <= hi)) return true;
    }
    if (rule.re && new RegExp(`^(?:${rule.re.source})$`).test(v)) return true;
    return !rule.enum && !rule.ranges && !rule.re;
  };
  const ok = rule.list ? value === '' || value.split(',').every(okOne) : okOne(value);
  if (ok) return undefined;
  const parts: string[] = [];
  if (rule.ranges) parts.push(rule.ranges.map(([lo, hi]) => `${lo}-${hi}`).join(', '));
  if (rule.enum) parts.push(rule.enum.join('|'));
  if (rule.re) parts.push(`/${rule.re.source}/`);
  return parts.join(' or ');
}

let intIdCounter = 20000;
const intIds = new Map<string, string>();
/** A stable per-DN internal id, as UCSM shows in `intId`. */
function intId(dn: string): string {
  let v = intIds.get(dn);
  if (!v) {
    v = String(++intIdCounter);
    intIds.set(dn, v);
  }
  return v;
}

// ------------------------------------------------- VLAN helpers (cross-object)

export const RESERVED_VLAN_DN = 'fabric/lan/fab-reserved-vlans';
export const DEFAULT_RESERVED: readonly [number, number] = [3915, 4042];

/** The reserved VLAN block in force: from fabricReservedVlan, or the default 3915-4042. */
export function reservedBlock(tree: TreeView): [number, number] {
  const r = tree.get(RESERVED_VLAN_DN);
  const start = Number(r?.attrs['startId'] ?? DEFAULT_RESERVED[0]);
  const end = Number(r?.attrs['endId'] ?? start + 127);
  return [start, end];
}

/**
 * The VLAN a vnicEtherIf (named after a VLAN) resolves to: the global VLAN
 * `fabric/lan/net-NAME`, else a fabric-specific one `fabric/lan/A|B/net-NAME`.
 */
export function resolveVlan(tree: TreeView, vlanName: string): Mo | undefined {
  for (const dn of [`fabric/lan/net-${vlanName}`, `fabric/lan/A/net-${vlanName}`, `fabric/lan/B/net-${vlanName}`]) {
    const mo = tree.get(dn);
    if (mo && mo.classId === 'fabricVlan') return mo;
  }
  return undefined;
}

// ---------------------------------------------------------------- classes

const fabricVlan: ClassSchema = {
  classId: 'fabricVlan',
  rn: 'net-[name]',
  creatableUnder: ['fabricLanCloud', 'fabricEthLan'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 32) }),
    id: rw({ ranges: [[1, 4042], [4048, 4093]] }),
    compressionType: en('excluded', 'included'),
    defaultNet: en(...YES_NO),
    mcastPolicyName: policyName,
    policyOwner: POLICY_OWNER,
    pubNwName: rw({ re: /.{0,510}/ }),
    sharing: en('community', 'isolated', 'none', 'primary'),
    ...ro(
      'assocPrimaryVlanState assocPrimaryVlanSwitchId cloud configIssues configOverlap epDn fltAggr global ifRole ifType local locale ' +
        'operMcastPolicyName operState overlapStateForA overlapStateForB peerDn portInternalState pubNwDn pubNwId switchId transport type',
    ),
  },
  required: ['id'],
  defaults: { compressionType: 'included', defaultNet: 'no', mcastPolicyName: '', policyOwner: 'local', pubNwName: '', sharing: 'none' },
  // Exactly the attribute set of fixture 17 (a fabricVlan as a real UCSM returns it).
  derive: (eff, dn, tree) => {
    const parent = tree.get(parentDn(dn));
    const switchId = parent?.classId === 'fabricEthLan' ? (parent.attrs['id'] ?? 'NONE') : 'dual';
    const isSecondary = eff['sharing'] === 'isolated' || eff['sharing'] === 'community';
    const primary = isSecondary && eff['pubNwName'] ? resolveVlan(tree, eff['pubNwName']) : undefined;
    return {
      childAction: 'deleteNonPresent',
      cloud: 'ethlan',
      configIssues: '',
      epDn: '',
      fltAggr: '0',
      global: '0',
      ifRole: 'network',
      ifType: 'virtual',
      local: '0',
      locale: 'external',
      operMcastPolicyName: `org-root/mc-policy-${eff['mcastPolicyName'] || 'default'}`,
      operState: 'ok',
      peerDn: '',
      pubNwDn: primary ? primary.dn : '',
      pubNwId: primary ? (primary.attrs['id'] ?? '0') : '0',
      switchId,
      transport: 'ether',
      type: 'lan',
    };
  },
  check: (eff, dn, tree) => {
    const id = Number(eff['id']);
    const [lo, hi] = reservedBlock(tree);
    if (id >= lo && id <= hi) {
      return `VLAN ${dn}: id ${id} is in the reserved VLAN range ${lo}-${hi} (${RESERVED_VLAN_DN})`;
    }
    return undefined;
  },
};

const vnicProfile: ClassSchema = {
  classId: 'vnicProfile',
  rn: 'vnic-[name]',
  creatableUnder: ['vnicProfileSet'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 31) }),
    descr: rw({ re: DESCR }),
    hostNwIOPerf: en('high-perf-reqd', 'none'),
    maxPorts: rw({ ranges: [[1, 4096]] }),
    nwCtrlPolicyName: policyName,
    pinToGroupName: policyName,
    policyOwner: POLICY_OWNER,
    portProfileUuid: rw({ re: UUID0 }),
    qosPolicyName: policyName,
    type: en('regular', 'sla-only'),
    ...ro(
      'cdp configQualifier cos forgeMac intId lldp macRegisterMode operNwCtrlPolicyName operQosPolicyName orgDn policyLevel primaryVlanId ' +
        'qosPolicyDn qosPolicyId swABorderAggrPort swABorderPort swABorderSlot swBBorderAggrPort swBBorderPort swBBorderSlot uplinkFailAction',
    ),
  },
  defaults: {
    descr: '',
    hostNwIOPerf: 'none',
    maxPorts: '64',
    nwCtrlPolicyName: '',
    pinToGroupName: '',
    policyOwner: 'local',
    portProfileUuid: '0',
    qosPolicyName: '',
    type: 'regular',
  },
  derive: (eff, dn, tree) => {
    const native = tree
      .childrenOf(dn)
      .find((c) => c.classId === 'vnicEtherIf' && (c.attrs['defaultNet'] === 'yes' || c.attrs['defaultNet'] === 'true'));
    const nativeVlan = native ? resolveVlan(tree, native.attrs['name'] ?? '') : undefined;
    const qos = eff['qosPolicyName'] ?? '';
    // The policy resolves only when it exists (in org-root, where netform puts it); a name of no
    // existing policy leaves both empty.
    const qosDn = qos && tree.get(`org-root/ep-qos-${qos}`)?.classId === 'epqosDefinition' ? `org-root/ep-qos-${qos}` : '';
    return {
      cdp: 'disabled',
      childAction: 'deleteNonPresent',
      configQualifier: 'normal',
      cos: 'any',
      forgeMac: 'allow',
      intId: intId(dn),
      lldp: 'none',
      macRegisterMode: 'only-native-vlan',
      operNwCtrlPolicyName: `org-root/nwctrl-${eff['nwCtrlPolicyName'] || 'default'}`,
      operQosPolicyName: qosDn,
      orgDn: 'org-root',
      policyLevel: '0',
      primaryVlanId: nativeVlan?.attrs['id'] ?? '1',
      qosPolicyDn: qosDn,
      qosPolicyId: '0',
      swABorderAggrPort: '0',
      swABorderPort: '0',
      swABorderSlot: '0',
      swBBorderAggrPort: '0',
      swBBorderPort: '0',
      swBBorderSlot: '0',
      uplinkFailAction: 'link-down',
    };
  },
};

const vnicEtherIf: ClassSchema = {
  classId: 'vnicEtherIf',
  rn: 'if-[name]',
  creatableUnder: ['vnicProfile', 'vnicLanConnTempl', 'vnicEther'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 32) }),
    defaultNet: en(...YES_NO),
    isQinQVlan: en(...YES_NO),
    ...ro(
      'addr configQualifier fltAggr operPrimaryVnetDn operPrimaryVnetName operState operVnetDn operVnetName owner propAcl pubNwId ' +
        'sharing switchId type vnet',
    ),
  },
  defaults: { defaultNet: 'no', isQinQVlan: 'no' },
  derive: (eff, dn, tree) => {
    const vlan = resolveVlan(tree, eff['name'] ?? '');
    const parent = tree.get(parentDn(dn));
    const parentSwitch = parent?.classId === 'vnicProfile' ? 'dual' : (parent?.attrs['switchId'] ?? 'A');
    return {
      addr: 'derived',
      childAction: 'deleteNonPresent',
      configQualifier: vlan ? '' : 'unresolved-vlan-name',
      fltAggr: '0',
      operPrimaryVnetDn: '',
      operPrimaryVnetName: '',
      operState: 'indeterminate',
      operVnetDn: vlan ? vlan.dn : '',
      operVnetName: vlan ? (vlan.attrs['name'] ?? '') : '',
      owner: 'logical',
      propAcl: '0',
      pubNwId: '0',
      sharing: vlan?.attrs['sharing'] ?? 'none',
      switchId: parentSwitch,
      type: 'ether',
      vnet: vlan ? (vlan.attrs['id'] ?? '1') : '1',
    };
  },
  // A vnicEtherIf names a VLAN; refuse one that names no existing VLAN (emulator choice, see emulator.ts).
  check: (eff, dn, tree) => {
    const name = eff['name'] ?? '';
    if (resolveVlan(tree, name)) return undefined;
    return `vnicEtherIf ${dn}: VLAN '${name}' does not exist (no fabricVlan fabric/lan/net-${name})`;
  },
};

const vmVnicProfCl: ClassSchema = {
  classId: 'vmVnicProfCl',
  rn: 'cl-[name]',
  creatableUnder: ['vnicProfile'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 16) }),
    dcName: rw({ re: FREE256 }),
    descr: rw({ re: DESCR }),
    orgPath: rw({ re: FREE256 }),
    policyOwner: POLICY_OWNER,
    swName: rw({ re: FREE256 }),
    ...ro('intId policyLevel'),
  },
  defaults: { dcName: '', descr: '', orgPath: '', policyOwner: 'local', swName: '' },
  derive: (_eff, dn) => ({ childAction: 'deleteNonPresent', intId: intId(dn), policyLevel: '0' }),
};

const orgOrg: ClassSchema = {
  classId: 'orgOrg',
  rn: 'org-[name]',
  creatableUnder: ['orgOrg'],
  deletable: true,
  props: { ...COMMON, name: naming({ re: nameRe(1, 16) }), descr: rw({ re: DESCR }), ...ro('fltAggr level permAccess') },
  defaults: { descr: '' },
  derive: (_eff, dn) => ({
    childAction: 'deleteNonPresent',
    fltAggr: '0',
    level: String(dn.split('/').length - 1),
    permAccess: 'yes',
  }),
};

const vnicLanConnTempl: ClassSchema = {
  classId: 'vnicLanConnTempl',
  rn: 'lan-conn-templ-[name]',
  creatableUnder: ['orgOrg'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 16) }),
    adminCdnName: policyName,
    cdnSource: en('user-defined', 'vnic-name'),
    descr: rw({ re: DESCR }),
    etherChannelPinning: en('disabled', 'enabled'),
    identPoolName: rw(),
    mtu: rw({ ranges: [[1500, 9158]] }),
    nwCtrlPolicyName: policyName,
    peerRedundancyTemplName: policyName,
    pinToGroupName: policyName,
    policyOwner: POLICY_OWNER,
    qInQ: en('disabled', 'enabled'),
    qosPolicyName: policyName,
    redundancyPairType: en('none', 'primary', 'secondary'),
    statsPolicyName: policyName,
    switchId: en('A', 'A-B', 'B', 'B-A', 'NONE'),
    target: co({ enum: ['vm', 'adaptor', 'defaultValue'], list: true }),
    templType: en('initial-template', 'updating-template'),
    ...ro('intId operIdentPoolName operNwCtrlPolicyName operPeerRedundancyTemplName operQosPolicyName operStatsPolicyName policyLevel'),
  },
  defaults: {
    adminCdnName: '',
    cdnSource: 'vnic-name',
    descr: '',
    etherChannelPinning: 'disabled',
    identPoolName: '',
    mtu: '1500',
    nwCtrlPolicyName: '',
    peerRedundancyTemplName: '',
    pinToGroupName: '',
    policyOwner: 'local',
    qInQ: 'disabled',
    qosPolicyName: '',
    redundancyPairType: 'none',
    statsPolicyName: 'default',
    switchId: 'A',
    target: 'adaptor',
    templType: 'initial-template',
  },
  derive: (eff, dn) => ({
    childAction: 'deleteNonPresent',
    intId: intId(dn),
    operIdentPoolName: `org-root/mac-pool-${eff['identPoolName'] || 'default'}`,
    operNwCtrlPolicyName: `org-root/nwctrl-${eff['nwCtrlPolicyName'] || 'default'}`,
    operPeerRedundancyTemplName: '',
    operQosPolicyName: eff['qosPolicyName'] ? `org-root/ep-qos-${eff['qosPolicyName']}` : '',
    operStatsPolicyName: `org-root/thr-policy-${eff['statsPolicyName'] || 'default'}`,
    policyLevel: '0',
  }),
};

const LS_POLICY_NAMES =
  'agentPolicyName biosProfileName bootPolicyName dynamicConPolicyName graphicsCardPolicyName hostFwPolicyName kvmMgmtPolicyName ' +
  'localDiskPolicyName maintPolicyName mgmtAccessPolicyName mgmtFwPolicyName persistentMemoryPolicyName powerPolicyName ' +
  'powerSyncPolicyName scrubPolicyName solPolicyName spdmCertificatePolicyName statsPolicyName vconProfileName vmediaPolicyName';

const lsServer: ClassSchema = {
  classId: 'lsServer',
  rn: 'ls-[name]',
  creatableUnder: ['orgOrg'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(2, 32) }),
    ...Object.fromEntries(LS_POLICY_NAMES.split(' ').map((n) => [n, policyName])),
    descr: rw({ re: DESCR }),
    extIPPoolName: rw(),
    extIPState: en('none', 'pooled', 'static'),
    identPoolName: rw(),
    policyOwner: POLICY_OWNER,
    resolveRemote: en('no', 'yes'),
    srcTemplName: rw(),
    type: co({ enum: ['initial-template', 'instance', 'updating-template'] }),
    usrLbl: rw({ re: /[ !#$%&()*+,\-./:;?@[\]_{|}~a-zA-Z0-9]{0,32}/ }),
    uuid: rw({ re: UUID0, enum: ['derived'] }),
    ...ro(
      'assignState assocState configQualifier configState fltAggr fsmDescr fsmFlags fsmPrev fsmProgr fsmRmtInvErrCode fsmRmtInvErrDescr ' +
        'fsmRmtInvRslt fsmStageDescr fsmStamp fsmStatus fsmTry intId operBiosProfileName operBootPolicyName operDynamicConPolicyName ' +
        'operExtIPPoolName operGraphicsCardPolicyName operHostFwPolicyName operIdentPoolName operKvmMgmtPolicyName operLocalDiskPolicyName ' +
        'operMaintPolicyName operMgmtAccessPolicyName operMgmtFwPolicyName operPersistentMemoryPolicyName operPowerPolicyName ' +
        'operPowerSyncPolicyName operScrubPolicyName operSolPolicyName operSpdmCertificatePolicyName operSrcTemplName operState ' +
        'operStatsPolicyName operVconProfileName operVmediaPolicyName owner pnDn policyLevel propAcl svnicConfig uuidSuffix',
    ),
  },
  defaults: {
    ...Object.fromEntries(LS_POLICY_NAMES.split(' ').map((n) => [n, ''])),
    descr: '',
    extIPPoolName: '',
    extIPState: 'none',
    identPoolName: '',
    policyOwner: 'local',
    resolveRemote: 'yes',
    srcTemplName: '',
    type: 'instance',
    usrLbl: '',
    uuid: 'derived',
  },
  derive: (eff, dn) => ({
    assignState: 'unassigned',
    assocState: 'unassociated',
    childAction: 'deleteNonPresent',
    configQualifier: '',
    configState: 'not-applied',
    fltAggr: '0',
    intId: intId(dn),
    operSrcTemplName: eff['srcTemplName'] ? `org-root/ls-${eff['srcTemplName']}` : '',
    operState: 'unassociated',
    owner: 'management',
    pnDn: '',
    policyLevel: '0',
    propAcl: '0',
    svnicConfig: 'yes',
    uuidSuffix: '0000-000000000000',
  }),
};

const vnicEther: ClassSchema = {
  classId: 'vnicEther',
  rn: 'ether-[name]',
  creatableUnder: ['lsServer'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 16) }),
    adaptorProfileName: policyName,
    addr: rw({ re: MAC0, enum: ['derived'] }),
    adminCdnName: policyName,
    adminHostPort: en('1', '2', 'ANY', 'NONE'),
    adminVcon: en('1', '2', '3', '4', 'any'),
    cdnPropInSync: en(...YES_NO),
    cdnSource: en('user-defined', 'vnic-name'),
    etherChannelPinning: en('disabled', 'enabled'),
    identPoolName: rw(),
    mtu: rw({ ranges: [[1500, 9158]] }),
    nwCtrlPolicyName: policyName,
    nwTemplName: policyName,
    order: rw({ enum: ['unspecified'], ranges: [[0, 256]] }),
    pinToGroupName: policyName,
    qInQ: en('disabled', 'enabled'),
    qosPolicyName: policyName,
    statsPolicyName: policyName,
    switchId: en('A', 'A-B', 'B', 'B-A', 'NONE'),
    ...ro(
      'bootDev configQualifier configState dynamicId equipmentDn fltAggr instType operAdaptorProfileName operCdnName operHostPort ' +
        'operIdentPoolName operNwCtrlPolicyName operNwTemplName operOrder operPinToGroupName operQosPolicyName operSpeed ' +
        'operStatsPolicyName operVcon owner pfDn propAcl purpose redundancyPairType redundancyPeer sriovHpnPreference type virtualizationPreference',
    ),
  },
  defaults: {
    adaptorProfileName: '',
    addr: 'derived',
    adminCdnName: '',
    adminHostPort: 'ANY',
    adminVcon: 'any',
    cdnPropInSync: 'yes',
    cdnSource: 'vnic-name',
    etherChannelPinning: 'disabled',
    identPoolName: '',
    mtu: '1500',
    nwCtrlPolicyName: '',
    nwTemplName: '',
    order: 'unspecified',
    pinToGroupName: '',
    qInQ: 'disabled',
    qosPolicyName: '',
    statsPolicyName: 'default',
    switchId: 'A',
  },
  derive: (eff, dn) => ({
    childAction: 'deleteNonPresent',
    configState: 'not-applied',
    dynamicId: '0',
    equipmentDn: '',
    fltAggr: '0',
    instType: 'manual',
    operNwTemplName: eff['nwTemplName'] ? `org-root/lan-conn-templ-${eff['nwTemplName']}` : '',
    operOrder: eff['order'] === 'unspecified' ? '1' : (eff['order'] ?? '1'),
    operSpeed: 'line-rate',
    owner: 'logical',
    propAcl: '0',
    purpose: 'general',
    redundancyPairType: 'none',
    type: 'ether',
    virtualizationPreference: 'NONE',
    pfDn: '',
  }),
};

// QoS policies for vNICs and port profiles (epqos*). Facts from the ucsmsdk 0.9.27 meta
// (mometa/epqos/EpqosDefinition.py, EpqosEgress.py): naming, containment, which attributes exist and
// who may write them, the enums and ranges. Not in the meta, and so ASSUMED: the values a freshly
// created object shows for attributes the client did not set (`defaults` below: an egress that is
// line-rate best-effort with host control none and a 10240-byte burst, as UCS Manager's GUI presents a
// new QoS policy), and the read-only values (`derive`). Real UCSM may create the `egress` child by
// itself with a new policy; the emulator does not (a client that sends it with `created,modified`
// works either way).
const PRIOS = ['best-effort', 'bronze', 'fc', 'gold', 'platinum', 'silver'] as const;

export const EPQOS_EGRESS_DEFAULTS: Readonly<Record<string, string>> = { burst: '10240', hostControl: 'none', name: '', prio: 'best-effort', rate: 'line-rate' };

const epqosDefinition: ClassSchema = {
  classId: 'epqosDefinition',
  rn: 'ep-qos-[name]',
  creatableUnder: ['orgOrg'],
  deletable: true,
  props: {
    ...COMMON,
    name: naming({ re: nameRe(1, 16) }),
    descr: rw({ re: DESCR }),
    policyOwner: POLICY_OWNER,
    ...ro('fsmDescr fsmPrev fsmProgr fsmRmtInvErrCode fsmRmtInvErrDescr fsmRmtInvRslt fsmStageDescr fsmStamp fsmStatus fsmTry intId policyLevel'),
  },
  defaults: { descr: '', policyOwner: 'local' },
  derive: (_eff, dn) => ({ childAction: 'deleteNonPresent', intId: intId(dn), policyLevel: '0' }),
};

const epqosEgress: ClassSchema = {
  classId: 'epqosEgress',
  rn: 'egress',
  creatableUnder: ['epqosDefinition'],
  deletable: true,
  props: {
    ...COMMON,
    burst: rw({ ranges: [[0, 65535]] }),
    hostControl: en('full', 'full-with-exception', 'none'),
    name: rw({ re: nameRe(0, 16) }),
    prio: en(...PRIOS),
    rate: rw({ enum: ['line-rate'], ranges: [[8, 100000000]] }),
    ...ro('operPrio'),
  },
  defaults: EPQOS_EGRESS_DEFAULTS,
  derive: (eff) => ({ childAction: 'deleteNonPresent', operPrio: eff['prio'] ?? 'best-effort' }),
};

const MTU_QOS = rw({ enum: ['fc', 'normal'], ranges: [[1500, 9216]] });
const WEIGHT = rw({ enum: ['best-effort', 'none'], ranges: [[0, 10]] });

const qosclassEthBE: ClassSchema = {
  classId: 'qosclassEthBE',
  rn: 'class-best-effort',
  creatableUnder: [],
  deletable: false,
  props: {
    ...COMMON,
    mtu: MTU_QOS,
    multicastOptimize: en(...YES_NO),
    name: rw({ re: nameRe(0, 16) }),
    weight: WEIGHT,
    ...ro('adminState bwPercent cos drop fcCosConflict priority'),
  },
  defaults: { mtu: 'normal', multicastOptimize: 'no', name: '', weight: '5' },
  derive: () => ({
    adminState: 'enabled',
    bwPercent: '50',
    childAction: 'deleteNonPresent',
    cos: 'any',
    drop: 'drop',
    fcCosConflict: 'no',
    priority: 'best-effort',
  }),
};

const qosclassEthClassified: ClassSchema = {
  classId: 'qosclassEthClassified',
  rn: 'class-[priority]',
  creatableUnder: [],
  deletable: false,
  props: {
    ...COMMON,
    priority: naming({ enum: ['best-effort', 'bronze', 'fc', 'gold', 'platinum', 'silver'] }),
    adminState: en('disabled', 'enabled'),
    cos: rw({ enum: ['any'], ranges: [[0, 6], [255, 255]] }),
    drop: en('drop', 'no-drop'),
    mtu: MTU_QOS,
    multicastOptimize: en(...YES_NO),
    name: rw({ re: nameRe(0, 16) }),
    weight: WEIGHT,
    ...ro('bwPercent fcCosConflict'),
  },
  defaults: { adminState: 'disabled', drop: 'drop', mtu: 'normal', multicastOptimize: 'no', name: '', weight: '5' },
  derive: () => ({ bwPercent: '0', childAction: 'deleteNonPresent', fcCosConflict: 'no' }),
};

const qosclassDefinition: ClassSchema = {
  classId: 'qosclassDefinition',
  rn: 'classes',
  creatableUnder: [],
  deletable: false,
  props: {
    ...COMMON,
    descr: rw({ re: DESCR }),
    ecnThreshold: rw({ ranges: [[1, 50000]] }),
    globalEcn: en('disabled', 'enabled', 'unknown'),
    policyOwner: POLICY_OWNER,
    ...ro(
      'checkForReboot fsmDescr fsmPrev fsmProgr fsmRmtInvErrCode fsmRmtInvErrDescr fsmRmtInvRslt fsmStageDescr fsmStamp fsmStatus fsmTry ' +
        'intId mmuPercent name numBreakoutPort policyLevel',
    ),
  },
  defaults: { descr: '', ecnThreshold: '1', globalEcn: 'disabled', policyOwner: 'local' },
  derive: () => ({ checkForReboot: 'no', childAction: 'deleteNonPresent', name: '', policyLevel: '0' }),
};

const fabricReservedVlan: ClassSchema = {
  classId: 'fabricReservedVlan',
  rn: 'fab-reserved-vlans',
  creatableUnder: [],
  deletable: false,
  props: {
    ...COMMON,
    startId: rw({ ranges: [[2, 3915]] }),
    endId: rw({ ranges: [[2, 4042]] }),
    ...ro('fsmDescr fsmPrev fsmProgr fsmRmtInvErrCode fsmRmtInvErrDescr fsmRmtInvRslt fsmStageDescr fsmStamp fsmStatus fsmTry operState'),
  },
  defaults: { startId: String(DEFAULT_RESERVED[0]), endId: String(DEFAULT_RESERVED[1]) },
  derive: () => ({ childAction: 'deleteNonPresent', operState: 'ok' }),
  // The block is always 128 VLANs; moving it onto existing VLANs is refused.
  check: (eff, _dn, tree) => {
    const start = Number(eff['startId']);
    const end = Number(eff['endId']);
    if (end !== start + 127) return `fabricReservedVlan: the reserved block must be 128 VLANs (startId ${start} needs endId ${start + 127}, got ${end})`;
    const clash = tree.byClass('fabricVlan').find((v) => Number(v.attrs['id']) >= start && Number(v.attrs['id']) <= end);
    if (clash) return `fabricReservedVlan: VLAN ${clash.dn} (id ${clash.attrs['id']}) lies in the requested reserved range ${start}-${end}`;
    return undefined;
  },
};

const topSystem: ClassSchema = {
  classId: 'topSystem',
  rn: 'sys',
  creatableUnder: [],
  deletable: false,
  props: {
    ...COMMON,
    address: rw({ re: IPV4 }),
    descr: rw({ re: DESCR }),
    ipv6Addr: rw(),
    name: rw({ re: /[a-zA-Z][a-zA-Z0-9-]{0,29}/ }),
    owner: rw({ re: /[ !#$%&()*+,\-./:;?@[\]_{|}~a-zA-Z0-9]{0,32}/ }),
    site: rw({ re: /[ !#$%&()*+,\-./:;?@[\]_{|}~a-zA-Z0-9]{0,32}/ }),
    ...ro('currentTime lastInstanceId mode systemUpTime'),
  },
  defaults: { address: '127.0.0.1', descr: '', ipv6Addr: '::', name: 'ucsm-emulator', owner: '', site: '' },
  derive: () => ({
    childAction: 'deleteNonPresent',
    currentTime: new Date().toISOString().replace('Z', ''),
    lastInstanceId: '0',
    mode: 'cluster',
    systemUpTime: '00:01:00:00',
  }),
};

const firmwareRunning: ClassSchema = {
  classId: 'firmwareRunning',
  rn: 'fw-[deployment]',
  creatableUnder: [],
  deletable: false,
  readOnly: true,
  props: {
    ...COMMON,
    deployment: naming({ enum: ['boot-loader', 'kernel', 'service-pack', 'system', 'unspecified'] }),
    ...ro('invTag packageVersion type version'),
  },
  derive: () => ({ childAction: 'deleteNonPresent', invTag: '', type: 'system' }),
};

const networkElement: ClassSchema = {
  classId: 'networkElement',
  rn: 'switch-[id]',
  creatableUnder: [],
  deletable: false,
  props: {
    ...COMMON,
    id: naming({ enum: ['A', 'B', 'NONE'] }),
    adminEvacState: en('drain', 'fill', 'unknown'),
    forceEvac: en(...YES_NO),
    oobIfGw: rw({ re: IPV4 }),
    oobIfIp: rw({ re: IPV4 }),
    oobIfMask: rw({ re: IPV4 }),
    ...ro(
      'adminInbandIfState diffMemory expectedMemory fltAggr inbandIfGw inbandIfIp inbandIfMask inbandIfVnet inventoryStatus licensingMsg ' +
        'minActiveFan model oobIfMac operEvacState operability revision serial shutdownFanRemoveal thermal totalMemory vendor',
    ),
  },
  defaults: { adminEvacState: 'fill', forceEvac: 'no', oobIfGw: '0.0.0.0', oobIfIp: '0.0.0.0', oobIfMask: '0.0.0.0' },
  derive: (eff) => ({
    childAction: 'deleteNonPresent',
    fltAggr: '0',
    model: 'UCS-FI-6454',
    operEvacState: 'fill',
    operability: 'operable',
    revision: '0',
    serial: `FDO2${eff['id'] === 'B' ? '0000B' : '0000A'}`,
    thermal: 'ok',
    vendor: 'Cisco Systems, Inc.',
  }),
};

const container = (classId: string, rn: string, props: Record<string, PropRule> = {}, readOnly = true): ClassSchema => ({
  classId,
  rn,
  creatableUnder: [],
  deletable: false,
  readOnly,
  props: { ...COMMON, ...props },
  derive: () => ({ childAction: 'deleteNonPresent' }),
});

const fabricLanCloud: ClassSchema = {
  ...container(
    'fabricLanCloud',
    'lan',
    {
      QinQForwarding: en('disabled', 'enabled'),
      enableSTPFaults: en('disabled', 'enabled'),
      fabricPcVhbaReset: en('disabled', 'enabled'),
      macAging: rw(),
      mode: en('end-host', 'switch'),
      serviceUnsupportedTransceiver: en('disabled', 'enabled'),
      vlanCompression: en('disabled', 'enabled'),
      ...ro('fsmDescr fsmPrev fsmProgr fsmRmtInvErrCode fsmRmtInvErrDescr fsmRmtInvRslt fsmStageDescr fsmStamp fsmStatus fsmTry'),
    },
    false,
  ),
  defaults: {
    QinQForwarding: 'disabled',
    enableSTPFaults: 'disabled',
    fabricPcVhbaReset: 'disabled',
    macAging: 'mode-default',
    mode: 'end-host',
    serviceUnsupportedTransceiver: 'disabled',
    vlanCompression: 'disabled',
  },
};

const fabricEthLan: ClassSchema = {
  ...container('fabricEthLan', '[id]', {
    id: naming({ enum: ['A', 'B', 'NONE'] }),
    name: co({ re: nameRe(0, 16) }),
    ...ro('configQualifier locale transport type'),
  }),
  derive: () => ({ childAction: 'deleteNonPresent', configQualifier: '', locale: 'external', name: '', transport: 'ether', type: 'lan' }),
};

const vnicProfileSet: ClassSchema = container(
  'vnicProfileSet',
  'profiles',
  ro('fltAggr fsmDescr fsmPrev fsmProgr fsmRmtInvErrCode fsmRmtInvErrDescr fsmRmtInvRslt fsmStageDescr fsmStamp fsmStatus fsmTry genNum vlanGroupUpdate'),
);

const fabricEp: ClassSchema = container('fabricEp', 'fabric');

export const SCHEMAS: Readonly<Record<string, ClassSchema>> = Object.fromEntries(
  [
    fabricVlan,
    vnicProfile,
    vnicEtherIf,
    vmVnicProfCl,
    orgOrg,
    vnicLanConnTempl,
    lsServer,
    vnicEther,
    qosclassEthBE,
    qosclassEthClassified,
    qosclassDefinition,
    fabricReservedVlan,
    topSystem,
    firmwareRunning,
    networkElement,
    fabricLanCloud,
    fabricEthLan,
    vnicProfileSet,
    fabricEp,
    epqosDefinition,
    epqosEgress,
  ].map((s) => [s.classId, s]),
);
