// parseLinks / parseAddresses / parseOvs: real `ip -json` output and OVSDB rows → the observed model.
//
// The ip fixtures were captured from iproute2 6.1 on this kernel in a scratch namespace:
//   ip netns add NS; ip netns add WIRE
//   ip -n NS link add ens3 type veth peer name up-ens3 netns WIRE      (same for ens4; peers up)
//   ip -n NS -batch -   <<  link add name br-web mtu 9000 group 28262 type bridge
//                           link set dev br-web alias netform:network/web
//                           tuntap add dev nfv0123456789ab mode tap
//                           link set dev nfv0123456789ab group 28262 mtu 1400 address 52:54:00:AA:BB:01
//                           link set dev nfv0123456789ab alias netform:vnic/ns1/vm1-nic0
//                           link set nfv0123456789ab master br-web; link set ens3 master br-web
//                           link set ens3 up; link set br-web up; link set ens4 up
//                           link add mv0 link ens4 type macvlan mode bridge
//                           address add 192.0.2.11/24 dev br-web; address add 2001:db8::11/64 dev br-web
//                           address add 198.51.100.5/25 dev ens4
//   ip -n NS -j -d -s link show   /   ip -n NS -j addr show
// (br-web shows MTU 1400: a bridge created with `mtu` follows its smallest port.)
import { describe, expect, it } from 'vitest';
import type { ObservedLink, ObservedOvsPort } from './model.ts';
import { mapOf, optional, parseAddresses, parseLinks, parseOvs, setOf, uuidOf } from './parse.ts';

const IP_LINKS = String.raw`[
{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","promiscuity":0,"allmulti":0,"min_mtu":0,"max_mtu":0,"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536,"stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},
{"ifindex":2,"link_index":2,"ifname":"ens3","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"br-web","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"8e:69:51:11:ab:a4","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"promiscuity":1,"allmulti":1,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth","info_slave_kind":"bridge","info_slave_data":{"state":"forwarding","priority":32,"cost":2,"hairpin":false,"guard":false,"root_block":false,"fastleave":false,"learning":true,"flood":true,"id":"0x8002","no":"0x2","designated_port":32770,"designated_cost":0,"bridge_id":"8000.52:54:0:aa:bb:1","root_id":"8000.52:54:0:aa:bb:1","hold_timer":0.0,"message_age_timer":0.0,"forward_delay_timer":13.53,"topology_change_ack":0,"config_pending":0,"proxy_arp":false,"proxy_arp_wifi":false,"multicast_router":1,"mcast_flood":true,"bcast_flood":true,"mcast_to_unicast":false,"neigh_suppress":false,"group_fwd_mask":"0","group_fwd_mask_str":"0x0","vlan_tunnel":false,"isolated":false,"locked":false}},"inet6_addr_gen_mode":"eui64","num_tx_queues":2,"num_rx_queues":2,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536,"stats64":{"rx":{"bytes":426,"packets":5,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":1242,"packets":13,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},
{"ifindex":3,"link_index":3,"ifname":"ens4","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"0a:52:75:7c:d0:c4","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth"},"inet6_addr_gen_mode":"eui64","num_tx_queues":2,"num_rx_queues":2,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536,"stats64":{"rx":{"bytes":266,"packets":3,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":426,"packets":5,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},
{"ifindex":4,"ifname":"br-web","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"28262","txqlen":1000,"link_type":"ether","address":"52:54:00:aa:bb:01","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"bridge","info_data":{"forward_delay":1500,"hello_time":200,"max_age":2000,"ageing_time":30000,"stp_state":0,"priority":32768,"vlan_filtering":0,"bridge_id":"8000.52:54:0:aa:bb:1","root_id":"8000.52:54:0:aa:bb:1","root_port":0,"root_path_cost":0,"topology_change":0,"topology_change_detected":0,"hello_timer":0.0,"tcn_timer":0.0,"topology_change_timer":0.0,"gc_timer":298.58,"group_fwd_mask":"0","group_addr":"01:80:c2:00:00:00","mcast_snooping":1,"no_linklocal_learn":0,"mcast_vlan_snooping":0,"mcast_router":1,"mcast_query_use_ifaddr":0,"mcast_querier":0,"mcast_hash_elasticity":16,"mcast_hash_max":4096,"mcast_last_member_cnt":2,"mcast_startup_query_cnt":2,"mcast_last_member_intvl":100,"mcast_membership_intvl":26000,"mcast_querier_intvl":25500,"mcast_query_intvl":12500,"mcast_query_response_intvl":1000,"mcast_startup_query_intvl":3124,"mcast_stats_enabled":0,"mcast_igmp_version":2,"mcast_mld_version":1,"nf_call_iptables":0,"nf_call_ip6tables":0,"nf_call_arptables":0}},"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536,"ifalias":"netform:network/web","stats64":{"rx":{"bytes":280,"packets":4,"errors":0,"dropped":0,"over_errors":0,"multicast":4},"tx":{"bytes":816,"packets":8,"errors":0,"dropped":2,"carrier_errors":0,"collisions":0}}},
{"ifindex":5,"ifname":"nfv0123456789ab","flags":["BROADCAST","MULTICAST"],"mtu":1400,"qdisc":"noop","master":"br-web","operstate":"DOWN","linkmode":"DEFAULT","group":"28262","txqlen":1000,"link_type":"ether","address":"52:54:00:aa:bb:01","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":1,"allmulti":1,"min_mtu":68,"max_mtu":65521,"linkinfo":{"info_kind":"tun","info_data":{"type":"tap","pi":false,"vnet_hdr":false,"multi_queue":false,"persist":true},"info_slave_kind":"bridge","info_slave_data":{"state":"disabled","priority":32,"cost":2,"hairpin":false,"guard":false,"root_block":false,"fastleave":false,"learning":true,"flood":true,"id":"0x8001","no":"0x1","designated_port":32769,"designated_cost":0,"bridge_id":"8000.52:54:0:aa:bb:1","root_id":"8000.52:54:0:aa:bb:1","hold_timer":0.0,"message_age_timer":0.0,"forward_delay_timer":0.0,"topology_change_ack":0,"config_pending":0,"proxy_arp":false,"proxy_arp_wifi":false,"multicast_router":1,"mcast_flood":true,"bcast_flood":true,"mcast_to_unicast":false,"neigh_suppress":false,"group_fwd_mask":"0","group_fwd_mask_str":"0x0","vlan_tunnel":false,"isolated":false,"locked":false}},"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536,"ifalias":"netform:vnic/ns1/vm1-nic0","stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},
{"ifindex":6,"link":"ens4","ifname":"mv0","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"96:13:6d:4f:74:b1","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"macvlan","info_data":{"mode":"bridge","bcqueuelen":1000,"usedbcqueuelen":1000}},"inet6_addr_gen_mode":"eui64","num_tx_queues":1,"num_rx_queues":1,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":524280,"tso_max_segs":65535,"gro_max_size":65536,"stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}}
]`;

const IP_ADDRS = String.raw`[
{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"::1","prefixlen":128,"scope":"host","valid_life_time":4294967295,"preferred_life_time":4294967295}]},
{"ifindex":2,"link_index":2,"ifname":"ens3","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"br-web","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"8e:69:51:11:ab:a4","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet6","local":"fe80::8c69:51ff:fe11:aba4","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]},
{"ifindex":3,"link_index":3,"ifname":"ens4","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"0a:52:75:7c:d0:c4","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"198.51.100.5","prefixlen":25,"scope":"global","label":"ens4","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::852:75ff:fe7c:d0c4","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]},
{"ifindex":4,"ifname":"br-web","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"noqueue","operstate":"UP","group":"28262","txqlen":1000,"link_type":"ether","address":"52:54:00:aa:bb:01","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet","local":"192.0.2.11","prefixlen":24,"scope":"global","label":"br-web","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"2001:db8::11","prefixlen":64,"scope":"global","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::5054:ff:feaa:bb01","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]},
{"ifindex":5,"ifname":"nfv0123456789ab","flags":["BROADCAST","MULTICAST"],"mtu":1400,"qdisc":"noop","master":"br-web","operstate":"DOWN","group":"28262","txqlen":1000,"link_type":"ether","address":"52:54:00:aa:bb:01","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[]},
{"ifindex":6,"link":"ens4","ifname":"mv0","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","group":"default","txqlen":1000,"link_type":"ether","address":"96:13:6d:4f:74:b1","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[]}
]`;

// VLAN sub-interfaces, bonds and the OVS kernel datapath do not exist on this kernel (no 8021q,
// bonding or openvswitch; see hostnet.md §1): these entries follow iproute2 6.1's output for them.
const IP_LINKS_FULL_KERNEL = String.raw`[
{"ifindex":7,"link":"ens3","ifname":"ens3.100","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":9000,"qdisc":"noqueue","master":"web","operstate":"UP","linkmode":"DEFAULT","group":"28262","txqlen":1000,"link_type":"ether","address":"8E:69:51:11:AB:A4","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":1,"allmulti":1,"min_mtu":0,"max_mtu":65535,"linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":100,"flags":["REORDER_HDR"]},"info_slave_kind":"bridge","info_slave_data":{"state":"forwarding","priority":32,"cost":100}},"ifalias":"netform:network/web","stats64":{"rx":{"bytes":1000,"packets":10,"errors":0,"dropped":3,"over_errors":0,"multicast":0},"tx":{"bytes":2000,"packets":20,"errors":0,"dropped":4,"carrier_errors":0,"collisions":0}}},
{"ifindex":8,"ifname":"bond0","flags":["BROADCAST","MULTICAST","MASTER","UP","LOWER_UP"],"mtu":9000,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"28262","txqlen":1000,"link_type":"ether","address":"0a:00:00:00:00:05","broadcast":"ff:ff:ff:ff:ff:ff","linkinfo":{"info_kind":"bond","info_data":{"mode":"802.3ad","miimon":100,"updelay":0,"downdelay":0,"peer_notify_delay":0,"use_carrier":1,"arp_interval":0,"arp_validate":null,"arp_all_targets":"any","primary_reselect":"always","fail_over_mac":"none","xmit_hash_policy":"layer2","resend_igmp":1,"num_peer_notif":1,"all_slaves_active":0,"min_links":0,"lp_interval":1,"packets_per_slave":1,"ad_lacp_active":"on","ad_lacp_rate":"fast","ad_select":"stable","tlb_dynamic_lb":1}},"ifalias":"netform:bond"},
{"ifindex":9,"ifname":"ens5","flags":["BROADCAST","MULTICAST","SLAVE","UP","LOWER_UP"],"mtu":9000,"qdisc":"pfifo_fast","master":"bond0","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"0a:00:00:00:00:05","broadcast":"ff:ff:ff:ff:ff:ff","linkinfo":{"info_slave_kind":"bond","info_slave_data":{"state":"ACTIVE","mii_status":"UP","link_failure_count":0,"perm_hwaddr":"0a:00:00:00:00:05","queue_id":0,"prio":0,"ad_aggregator_id":1,"ad_actor_oper_port_state":61,"ad_partner_oper_port_state":61}}},
{"ifindex":10,"ifname":"ens7","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"mq","master":"ovs-system","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"0a:00:00:00:00:07","broadcast":"ff:ff:ff:ff:ff:ff","linkinfo":{"info_slave_kind":"openvswitch"}}
]`;

describe('parseLinks', () => {
  const captured: ObservedLink[] = [
    { name: 'br-web', ifindex: 4, kind: 'bridge', mtu: 1400, up: true, operstate: 'UP', mac: '52:54:00:aa:bb:01', group: 28262, alias: 'netform:network/web', rxBytes: 280, txBytes: 816, drops: 2 },
    { name: 'ens3', ifindex: 2, kind: 'veth', mtu: 1500, up: true, operstate: 'UP', mac: '8e:69:51:11:ab:a4', group: 0, master: 'br-web', rxBytes: 426, txBytes: 1242, drops: 0 },
    { name: 'ens4', ifindex: 3, kind: 'veth', mtu: 1500, up: true, operstate: 'UP', mac: '0a:52:75:7c:d0:c4', group: 0, rxBytes: 266, txBytes: 426, drops: 0 },
    { name: 'mv0', ifindex: 6, kind: 'macvlan', mtu: 1500, up: false, operstate: 'DOWN', mac: '96:13:6d:4f:74:b1', group: 0, parent: 'ens4', rxBytes: 0, txBytes: 0, drops: 0 },
    {
      name: 'nfv0123456789ab',
      ifindex: 5,
      kind: 'tun',
      mtu: 1400,
      up: false,
      operstate: 'DOWN',
      mac: '52:54:00:aa:bb:01',
      group: 28262,
      master: 'br-web',
      alias: 'netform:vnic/ns1/vm1-nic0',
      rxBytes: 0,
      txBytes: 0,
      drops: 0,
    },
  ];

  it.each<{ name: string; json: string; want: ObservedLink[] }>([
    { name: 'veth, bridge, tap and macvlan captured on this kernel (loopback left out, sorted by name)', json: IP_LINKS, want: captured },
    {
      name: 'VLAN (parent, id), bond (mode), bond member and a NIC on the OVS datapath; MAC lower-cased',
      json: IP_LINKS_FULL_KERNEL,
      want: [
        { name: 'bond0', ifindex: 8, kind: 'bond', mtu: 9000, up: true, operstate: 'UP', mac: '0a:00:00:00:00:05', group: 28262, bondMode: '802.3ad', alias: 'netform:bond' },
        { name: 'ens3.100', ifindex: 7, kind: 'vlan', mtu: 9000, up: true, operstate: 'UP', mac: '8e:69:51:11:ab:a4', group: 28262, master: 'web', parent: 'ens3', vlanId: 100, alias: 'netform:network/web', rxBytes: 1000, txBytes: 2000, drops: 7 },
        { name: 'ens5', ifindex: 9, kind: '', mtu: 9000, up: true, operstate: 'UP', mac: '0a:00:00:00:00:05', group: 0, master: 'bond0' },
        { name: 'ens7', ifindex: 10, kind: '', mtu: 1500, up: true, operstate: 'UP', mac: '0a:00:00:00:00:07', group: 0, master: 'ovs-system' },
      ],
    },
    {
      name: 'sparse entries: no flags, operstate, address, group or link',
      json: '[{"ifindex":3,"ifname":"x0","mtu":1500,"master":null,"link":null,"linkinfo":{"info_kind":"vlan","info_data":{}}},{"ifindex":4,"ifname":"x1","mtu":1500,"group":"7","linkinfo":{"info_kind":"tun","info_data":{"mode":"tap"}}}]',
      want: [
        { name: 'x0', ifindex: 3, kind: 'vlan', mtu: 1500, up: false, operstate: 'UNKNOWN', mac: '', group: 0 },
        { name: 'x1', ifindex: 4, kind: 'tun', mtu: 1500, up: false, operstate: 'UNKNOWN', mac: '', group: 7 },
      ],
    },
    { name: 'nothing but the loopback', json: '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536}]', want: [] },
  ])('$name', ({ json, want }) => {
    expect(parseLinks(json)).toStrictEqual(want);
  });

  it('rejects what is not JSON', () => {
    expect(() => parseLinks('1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536')).toThrow(SyntaxError);
  });
});

describe('parseAddresses', () => {
  it.each<{ name: string; json: string; want: { device: string; cidr: string }[] }>([
    {
      name: 'captured: IPv4 and global IPv6 kept; link-local IPv6 and the loopback left out; sorted',
      json: IP_ADDRS,
      want: [
        { device: 'br-web', cidr: '192.0.2.11/24' },
        { device: 'br-web', cidr: '2001:db8::11/64' },
        { device: 'ens4', cidr: '198.51.100.5/25' },
      ],
    },
    {
      name: 'IPv4 link-local is an address like any other; entries without addr_info skipped',
      json: '[{"ifindex":9,"ifname":"web","addr_info":[{"family":"inet6","local":"2001:db8::2","prefixlen":64,"scope":"global"},{"family":"inet","local":"169.254.7.7","prefixlen":16,"scope":"link"},{"family":"inet","local":"192.0.2.1","prefixlen":32}]},{"ifindex":10,"ifname":"bare"},{"ifindex":2,"ifname":"a0","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":8,"scope":"global"}]}]',
      want: [
        { device: 'a0', cidr: '10.0.0.1/8' },
        { device: 'web', cidr: '169.254.7.7/16' },
        { device: 'web', cidr: '192.0.2.1/32' },
        { device: 'web', cidr: '2001:db8::2/64' },
      ],
    },
    { name: 'empty', json: '[]', want: [] },
  ])('$name', ({ json, want }) => {
    expect(parseAddresses(json)).toStrictEqual(want);
  });
});

describe('OVSDB datum decoding', () => {
  it.each<[string, unknown, unknown[]]>([
    ['empty set', ['set', []], []],
    ['set of atoms', ['set', [100, 200]], [100, 200]],
    ['set of uuids', ['set', [['uuid', 'a'], ['uuid', 'b']]], [['uuid', 'a'], ['uuid', 'b']]],
    ['bare single value', 100, [100]],
    ['bare single uuid', ['uuid', 'a'], [['uuid', 'a']]],
    ['bare string', 'trunk', ['trunk']],
    ['column not selected', undefined, []],
  ])('setOf: %s', (_n, v, want) => expect(setOf(v)).toStrictEqual(want));

  it.each<[string, unknown, unknown]>([
    ['empty set is absent', ['set', []], undefined],
    ['bare value', 100, 100],
    ['zero is a value', 0, 0],
    ['one-element set', ['set', [7]], 7],
    ['string', 'could not open network device ghost0 (No such device)', 'could not open network device ghost0 (No such device)'],
    ['column not selected', undefined, undefined],
  ])('optional: %s', (_n, v, want) => expect(optional(v)).toStrictEqual(want));

  it.each<[string, unknown, Record<string, string>]>([
    ['empty map', ['map', []], {}],
    [
      'map',
      ['map', [['iface-id', 'tenant-a/vm1-nic0'], ['vm-id', 'vm1']]],
      { 'iface-id': 'tenant-a/vm1-nic0', 'vm-id': 'vm1' },
    ],
    ['not a map', ['set', []], {}],
    ['column not selected', undefined, {}],
  ])('mapOf: %s', (_n, v, want) => expect(mapOf(v)).toStrictEqual(want));

  it.each<[unknown, string]>([
    [['uuid', '54e66de8-5a5a-4b4b-8c8c-000000000001'], '54e66de8-5a5a-4b4b-8c8c-000000000001'],
    ['54e66de8-5a5a-4b4b-8c8c-000000000001', '54e66de8-5a5a-4b4b-8c8c-000000000001'],
  ])('uuidOf %j', (v, want) => expect(uuidOf(v)).toBe(want));
});

describe('parseOvs', () => {
  const u = (id: string) => ['uuid', id];
  const EMPTY = ['set', []];
  const TAP = 'nfva83079d97b59';
  // Rows as `select` returns them with the columns the agent asks for.
  const bridges = [
    { _uuid: u('b-int'), name: 'br-int', datapath_type: 'netdev', ports: ['set', [u('p-br'), u('p-tap'), u('p-ens3'), u('p-bond'), u('p-ghost'), u('p-one'), u('p-dangling'), u('p-unknown')]] },
    { _uuid: u('b-ex'), name: 'br-ex', datapath_type: '', ports: u('p-ex') },
    { _uuid: u('b-empty'), name: 'br-empty', datapath_type: 'system', ports: EMPTY },
  ];
  const port = (id: string, name: string, o: Record<string, unknown> = {}) => ({
    _uuid: u(id),
    name,
    tag: EMPTY,
    trunks: EMPTY,
    vlan_mode: EMPTY,
    bond_mode: EMPTY,
    lacp: EMPTY,
    interfaces: u(`i-${name}`),
    external_ids: ['map', []],
    ...o,
  });
  const ports = [
    port('p-br', 'br-int'),
    port('p-tap', TAP, { tag: 100, external_ids: ['map', [['netform-network', 'web'], ['netform-owner', 'nf-test']]] }),
    port('p-ens3', 'ens3', { trunks: ['set', [300, 100, 200]], vlan_mode: 'trunk' }),
    port('p-bond', 'bond0', { trunks: 100, bond_mode: 'balance-tcp', lacp: 'active', interfaces: ['set', [u('i-ens9'), u('i-ens8')]] }),
    port('p-ghost', 'ghost0', { tag: 200 }),
    port('p-one', 'nfi-4b5e57f6eb2', { tag: 100 }),
    port('p-dangling', 'dangling0', { interfaces: u('i-nowhere') }),
    port('p-ex', 'eth9'),
    port('p-orphan', 'orphan0'), // on no bridge
  ];
  const iface = (name: string, o: Record<string, unknown> = {}) => ({ _uuid: u(`i-${name}`), name, type: '', ofport: 1, error: EMPTY, mtu_request: EMPTY, external_ids: ['map', []], ...o });
  const interfaces = [
    iface('br-int', { type: 'internal', ofport: 65534 }),
    iface(TAP, { ofport: 3, mtu_request: 1500, external_ids: ['map', [['attached-mac', '52:54:00:00:00:01'], ['iface-id', 'tenant-a/vm1-nic0'], ['vm-id', 'vm1']]] }),
    iface('ens3', { ofport: 2, mtu_request: 9000 }),
    iface('ens8', { ofport: 4 }),
    iface('ens9', { ofport: 5 }),
    iface('ghost0', { ofport: -1, error: 'could not open network device ghost0 (No such device)' }),
    iface('nfi-4b5e57f6eb2', { type: 'internal', ofport: EMPTY }), // vswitchd has not assigned one yet
    { _uuid: u('i-eth9'), name: 'eth9' }, // columns left out
    iface('orphan0'),
  ];
  const p = (name: string, o: Partial<ObservedOvsPort>): ObservedOvsPort => ({
    uuid: `p-${name}`,
    name,
    tag: undefined,
    trunks: [],
    vlanMode: undefined,
    bondMode: undefined,
    lacp: undefined,
    interfaces: [],
    external: {},
    ...o,
  });
  const i = (name: string, o: Partial<ObservedOvsPort['interfaces'][number]> = {}) => ({ name, type: '', ofport: 1, error: undefined, mtuRequest: undefined, external: {}, ...o });

  it('bridges with their ports and interfaces, sorted by name; sets, bare values, maps and uuids decoded', () => {
    expect(parseOvs(bridges, ports, interfaces)).toStrictEqual([
      { name: 'br-empty', uuid: 'b-empty', datapath: 'system', ports: [] },
      { name: 'br-ex', uuid: 'b-ex', datapath: '', ports: [p('eth9', { uuid: 'p-ex', interfaces: [{ name: 'eth9', type: '', ofport: undefined, error: undefined, mtuRequest: undefined, external: {} }] })] },
      {
        name: 'br-int',
        uuid: 'b-int',
        datapath: 'netdev',
        ports: [
          p('bond0', { uuid: 'p-bond', trunks: [100], bondMode: 'balance-tcp', lacp: 'active', interfaces: [i('ens8', { ofport: 4 }), i('ens9', { ofport: 5 })] }),
          p('br-int', { uuid: 'p-br', interfaces: [i('br-int', { type: 'internal', ofport: 65534 })] }),
          p('dangling0', { uuid: 'p-dangling', interfaces: [] }),
          p('ens3', { uuid: 'p-ens3', trunks: [300, 100, 200], vlanMode: 'trunk', interfaces: [i('ens3', { ofport: 2, mtuRequest: 9000 })] }),
          p('ghost0', { uuid: 'p-ghost', tag: 200, interfaces: [i('ghost0', { ofport: -1, error: 'could not open network device ghost0 (No such device)' })] }),
          p('nfi-4b5e57f6eb2', { uuid: 'p-one', tag: 100, interfaces: [i('nfi-4b5e57f6eb2', { type: 'internal', ofport: undefined })] }),
          p(TAP, {
            uuid: 'p-tap',
            tag: 100,
            external: { 'netform-network': 'web', 'netform-owner': 'nf-test' },
            interfaces: [i(TAP, { ofport: 3, mtuRequest: 1500, external: { 'attached-mac': '52:54:00:00:00:01', 'iface-id': 'tenant-a/vm1-nic0', 'vm-id': 'vm1' } })],
          }),
        ],
      },
    ]);
  });

  it('no bridges: nothing', () => {
    expect(parseOvs([], ports, interfaces)).toStrictEqual([]);
  });
});
