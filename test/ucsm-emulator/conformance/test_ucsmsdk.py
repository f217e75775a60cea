"""Cisco's ucsmsdk (PyPI 0.9.27) as a black-box client of netform's UCSM emulator.

Run by test/ucsm-emulator/conformance.test.ts, which starts the emulator and
passes its address in UCSM_EMULATOR_HOST / UCSM_EMULATOR_PORT (and the
credentials in UCSM_USER / UCSM_PASSWORD). Every test uses its own object
names, so the tests can share one emulator.
"""

import os
import re
import urllib.request

import pytest

from ucsmsdk import ucsxmlcodec
from ucsmsdk.mometa.epqos.EpqosDefinition import EpqosDefinition
from ucsmsdk.mometa.epqos.EpqosEgress import EpqosEgress
from ucsmsdk.mometa.fabric.FabricVlan import FabricVlan
from ucsmsdk.mometa.ls.LsServer import LsServer
from ucsmsdk.mometa.org.OrgOrg import OrgOrg
from ucsmsdk.mometa.vm.VmVnicProfCl import VmVnicProfCl
from ucsmsdk.mometa.vnic.VnicEtherIf import VnicEtherIf
from ucsmsdk.mometa.vnic.VnicProfile import VnicProfile
from ucsmsdk.ucsexception import UcsException
from ucsmsdk.ucshandle import UcsHandle

HOST = os.environ.get("UCSM_EMULATOR_HOST", "127.0.0.1")
PORT = int(os.environ["UCSM_EMULATOR_PORT"])
USER = os.environ.get("UCSM_USER", "admin")
PASSWORD = os.environ.get("UCSM_PASSWORD", "password")
VERSION = os.environ.get("UCSM_VERSION", "4.2(3d)")
COOKIE_RE = re.compile(r"^\d{9,}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def raw_post(xml):
    """POST raw XML the way ucsmsdk does (no Content-Type set by us)."""
    req = urllib.request.Request("http://%s:%d/nuova" % (HOST, PORT), data=xml.encode("utf-8"))
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        return resp.read().decode("utf-8")


def parse(xml):
    return ucsxmlcodec.from_xml_str(xml)


@pytest.fixture
def handle():
    h = UcsHandle(HOST, USER, PASSWORD, port=PORT, secure=False)
    assert h.login() is True
    yield h
    h.logout()


def vlan(name, vid, **kw):
    return FabricVlan(parent_mo_or_dn="fabric/lan", name=name, id=str(vid), **kw)


def names(mos):
    return sorted(mo.name for mo in mos)


# ------------------------------------------------------------------ sessions


def test_login_reads_session_attributes_and_system(handle):
    assert COOKIE_RE.match(handle.cookie), handle.cookie
    assert handle.refresh_period == 600
    # ucsmsdk quirk: after login `priv` is the raw string; only _refresh splits it into a list.
    assert handle.priv == "admin,read-only"
    assert handle.name == USER
    assert handle.session_id.startswith("web_")
    assert str(handle.version) == VERSION
    assert handle.version.major == "4" and handle.version.minor == "2"
    assert handle.ucs == "ucsm-emulator"  # topSystem name read during login
    switches = handle.query_classid("NetworkElement")
    assert sorted(s.dn for s in switches) == ["sys/switch-A", "sys/switch-B"]
    fw = handle.query_dn("sys/fw-system")
    assert fw.version == VERSION


def test_failed_login_raises_551():
    h = UcsHandle(HOST, USER, "wrong-password", port=PORT, secure=False)
    with pytest.raises(UcsException) as exc:
        h.login()
    assert exc.value.error_code == "551"
    assert exc.value.error_descr == "Authentication failed"
    assert h.cookie is None


def test_refresh_issues_new_cookie_and_kills_the_old_one(handle):
    old = handle.cookie
    assert handle._refresh() is True
    new = handle.cookie
    assert new != old and COOKIE_RE.match(new)
    assert handle.priv == ["admin", "read-only"]
    assert handle.refresh_period == 600
    # The handle keeps working with the new cookie...
    assert handle.query_dn("sys").name == "ucsm-emulator"
    # ...and the old cookie is refused at once with 552.
    resp = parse(raw_post('<configResolveDn cookie="%s" dn="sys" inHierarchical="false" />' % old))
    assert resp.error_code == "552"
    assert resp.error_descr == "Authorization required"
    assert resp.invocation_result == "service-unavailable"
    # A refresh of the dead cookie fails too.
    resp = parse(raw_post('<aaaRefresh inCookie="%s" inName="%s" inPassword="%s" />' % (old, USER, PASSWORD)))
    assert resp.error_code == "552"


def test_login_force_replaces_the_session():
    h = UcsHandle(HOST, USER, PASSWORD, port=PORT, secure=False)
    assert h.login() is True
    first = h.cookie
    assert h.login(force=True) is True
    assert h.cookie != first
    resp = parse(raw_post('<configResolveDn cookie="%s" dn="sys" inHierarchical="false" />' % first))
    assert resp.error_code == "552"
    h.logout()


def test_logout_kills_cookie_and_555_is_tolerated():
    h = UcsHandle(HOST, USER, PASSWORD, port=PORT, secure=False)
    h.login()
    cookie = h.cookie
    assert h.logout() is True
    assert h.cookie is None
    resp = parse(raw_post('<configResolveDn cookie="%s" dn="sys" inHierarchical="false" />' % cookie))
    assert resp.error_code == "552"
    # Logging out the dead cookie again: the server answers 555 and the SDK treats it as success.
    resp = parse(raw_post('<aaaLogout inCookie="%s" />' % cookie))
    assert resp.error_code == "555" and resp.error_descr == "Session not found"
    h._UcsSession__cookie = cookie
    assert h.logout() is True


def test_parse_errors_surface_as_ucs_exception():
    with pytest.raises(UcsException) as exc:
        parse(raw_post("<aaaRefresh inName='admin' inPassword='password' />"))
    assert exc.value.error_code == "ERR-xml-parse-error"
    assert exc.value.error_descr == "XML PARSING ERROR: Required inCookie attribute missing in the xml request. "


# ------------------------------------------------------------------ VLANs


def test_vlan_add_query_modify_remove(handle):
    dn = "fabric/lan/net-nf-sdk-100"
    handle.add_mo(vlan("nf-sdk-100", 100, sharing="none", default_net="no", compression_type="included",
                       mcast_policy_name="", pub_nw_name="", policy_owner="local"))
    handle.commit()

    mo = handle.query_dn(dn)
    assert mo is not None and mo.dn == dn
    assert (mo.name, mo.id, mo.sharing, mo.switch_id, mo.oper_state) == ("nf-sdk-100", "100", "none", "dual", "ok")
    assert mo.child_action == "deleteNonPresent"

    # A second plain create is a 103.
    handle.add_mo(vlan("nf-sdk-100", 100))
    with pytest.raises(UcsException) as exc:
        handle.commit()
    assert exc.value.error_code == "103"
    assert exc.value.error_descr == "can't create; object already exists."

    # add_mo(modify_present=True) is an upsert: it changes the existing VLAN.
    handle.add_mo(vlan("nf-sdk-100", 110), modify_present=True)
    handle.commit()
    assert handle.query_dn(dn).id == "110"

    # ...and creates a missing one.
    handle.add_mo(vlan("nf-sdk-120", 120), modify_present=True)
    handle.commit()
    assert handle.query_dn("fabric/lan/net-nf-sdk-120").id == "120"

    # set_mo after a query sends only the changed property.
    mo = handle.query_dn(dn)
    mo.id = "111"
    mo.sharing = "primary"
    handle.set_mo(mo)
    handle.commit()
    mo = handle.query_dn(dn)
    assert (mo.id, mo.sharing) == ("111", "primary")

    found = handle.query_dns(dn, "fabric/lan/net-nf-sdk-missing")
    assert found["fabric/lan/net-nf-sdk-missing"] is None
    assert found[dn].id == "111"

    handle.remove_mo(handle.query_dn(dn))
    handle.remove_mo(handle.query_dn("fabric/lan/net-nf-sdk-120"))
    handle.commit()
    assert handle.query_dn(dn) is None
    assert handle.query_dn("fabric/lan/net-nf-sdk-120") is None


def test_set_mo_on_missing_vlan_is_102(handle):
    mo = vlan("nf-sdk-ghost", 130)
    handle.set_mo(mo)
    with pytest.raises(UcsException) as exc:
        handle.commit()
    assert exc.value.error_code == "102"
    assert exc.value.error_descr == "configured object (fabric/lan/net-nf-sdk-ghost) not found "


def test_query_classid_filters(handle):
    for name, vid in [("nf-flt-300", 300), ("nf-flt-301", 301), ("nf-flt-302", 302), ("xx-flt-400", 400)]:
        handle.add_mo(vlan(name, vid))
    handle.commit()
    try:
        q = lambda f: names(handle.query_classid("FabricVlan", filter_str=f))
        assert q('(id, "300", type="eq")') == ["nf-flt-300"]
        assert q('(name, "nf-flt", type="re")') == ["nf-flt-300", "nf-flt-301", "nf-flt-302"]
        assert q('(name, "^xx-", type="re")') == ["xx-flt-400"]
        assert q('(name, "NF-FLT-30[12]", type="re", flag="I")') == ["nf-flt-301", "nf-flt-302"]
        assert q('(name, "flt", type="re") and (id, "301", type="ne")') == ["nf-flt-300", "nf-flt-302", "xx-flt-400"]
        assert q('(id, "300", type="eq") or (id, "400", type="eq")') == ["nf-flt-300", "xx-flt-400"]
        assert q('(id, "301", type="gt") and (id, "400", type="lt")') == ["nf-flt-302"]
        assert q('(id, "301", type="ge") and (id, "302", type="le")') == ["nf-flt-301", "nf-flt-302"]
        assert "nf-flt-300" not in q('not (name, "nf-flt", type="re")')
        assert "xx-flt-400" in q('not (name, "nf-flt", type="re")')
        assert q('(name, "flt", type="re") and not ((id, "300", type="eq") or (id, "400", type="eq"))') == [
            "nf-flt-301", "nf-flt-302"]
        assert q('(id, "999", type="eq")') == []
    finally:
        for name in ["nf-flt-300", "nf-flt-301", "nf-flt-302", "xx-flt-400"]:
            handle.remove_mo(handle.query_dn("fabric/lan/net-" + name))
        handle.commit()


def test_query_classids(handle):
    out = handle.query_classids("OrgOrg", "NetworkElement")
    assert [o.dn for o in out["OrgOrg"]] == ["org-root"]
    assert sorted(o.dn for o in out["NetworkElement"]) == ["sys/switch-A", "sys/switch-B"]


def test_commit_is_all_or_nothing(handle):
    handle.add_mo(vlan("nf-aon-1", 501))
    handle.commit()
    handle.add_mo(vlan("nf-aon-2", 502))
    handle.add_mo(vlan("nf-aon-1", 501))  # duplicate → 103 for the whole commit
    with pytest.raises(UcsException) as exc:
        handle.commit()
    assert exc.value.error_code == "103"
    assert handle.query_dn("fabric/lan/net-nf-aon-2") is None
    handle.remove_mo(handle.query_dn("fabric/lan/net-nf-aon-1"))
    handle.commit()


# ------------------------------------------------------------------ port profiles


def test_port_profile_with_children_in_one_commit(handle):
    handle.add_mo(vlan("nf-pp-vlan", 600))
    handle.commit()
    pp_dn = "fabric/lan/profiles/vnic-nf-pp-600"
    pp = VnicProfile(parent_mo_or_dn="fabric/lan/profiles", name="nf-pp-600", descr="Created by netform",
                     host_nw_io_perf="high-perf-reqd", max_ports="64", policy_owner="local",
                     nw_ctrl_policy_name="", pin_to_group_name="", qos_policy_name="")
    VnicEtherIf(parent_mo_or_dn=pp, name="nf-pp-vlan", default_net="yes")
    VmVnicProfCl(parent_mo_or_dn=pp, name="nf-cl-600", org_path=".*", sw_name=".*", dc_name=".*",
                 policy_owner="local", descr="Created by netform")
    handle.add_mo(pp)
    handle.commit()  # configConfMos, then configResolveDns for the dirty children

    got = handle.query_dn(pp_dn)
    assert (got.name, got.max_ports, got.host_nw_io_perf, got.descr) == ("nf-pp-600", "64", "high-perf-reqd", "Created by netform")
    assert got.primary_vlan_id == "600"

    kids = handle.query_children(in_dn=pp_dn)
    assert sorted(k.dn for k in kids) == [pp_dn + "/cl-nf-cl-600", pp_dn + "/if-nf-pp-vlan"]
    eth = handle.query_children(in_dn=pp_dn, class_id="VnicEtherIf")
    assert [(e.name, e.default_net, e.vnet) for e in eth] == [("nf-pp-vlan", "yes", "600")]
    cl = handle.query_children(in_mo=got, class_id="VmVnicProfCl")
    assert [(c.name, c.org_path, c.sw_name, c.dc_name) for c in cl] == [("nf-cl-600", ".*", ".*", ".*")]

    tree = handle.query_dn(pp_dn, hierarchy=True)
    assert sorted(m.dn for m in tree) == [pp_dn, pp_dn + "/cl-nf-cl-600", pp_dn + "/if-nf-pp-vlan"]
    by_class = handle.query_classid("VnicProfile", hierarchy=True)
    assert {m.dn for m in by_class} >= {pp_dn, pp_dn + "/cl-nf-cl-600", pp_dn + "/if-nf-pp-vlan"}
    assert {type(m).__name__ for m in tree} == {"VnicProfile", "VnicEtherIf", "VmVnicProfCl"}

    # A duplicate profile create is a 103 (networking-cisco matches "object already exists").
    handle.add_mo(VnicProfile(parent_mo_or_dn="fabric/lan/profiles", name="nf-pp-600"))
    with pytest.raises(UcsException) as exc:
        handle.commit()
    assert exc.value.error_code == "103"
    assert "object already exists" in str(exc.value)

    handle.remove_mo(got)
    handle.commit()
    assert handle.query_dn(pp_dn) is None
    assert handle.query_dn(pp_dn + "/if-nf-pp-vlan") is None
    handle.remove_mo(handle.query_dn("fabric/lan/net-nf-pp-vlan"))
    handle.commit()


def test_vnic_ether_if_naming_a_missing_vlan_is_refused(handle):
    pp = VnicProfile(parent_mo_or_dn="fabric/lan/profiles", name="nf-pp-bad")
    VnicEtherIf(parent_mo_or_dn=pp, name="nf-no-such-vlan", default_net="yes")
    handle.add_mo(pp)
    with pytest.raises(UcsException) as exc:
        handle.commit()
    assert exc.value.error_code == "150"
    assert "nf-no-such-vlan" in exc.value.error_descr
    assert handle.query_dn("fabric/lan/profiles/vnic-nf-pp-bad") is None


def test_org_with_service_profile_hierarchy(handle):
    org = OrgOrg(parent_mo_or_dn="org-root", name="nf-sdk-org")
    LsServer(parent_mo_or_dn=org, name="nf-sdk-sp", descr="sp")
    handle.add_mo(org)
    handle.commit()
    sp = handle.query_dn("org-root/org-nf-sdk-org/ls-nf-sdk-sp")
    assert (sp.name, sp.descr, sp.type) == ("nf-sdk-sp", "sp", "instance")
    children = handle.query_children(in_dn="org-root/org-nf-sdk-org", class_id="LsServer")
    assert [c.dn for c in children] == ["org-root/org-nf-sdk-org/ls-nf-sdk-sp"]
    handle.remove_mo(handle.query_dn("org-root/org-nf-sdk-org"))
    handle.commit()
    assert handle.query_dn("org-root/org-nf-sdk-org/ls-nf-sdk-sp") is None


# ------------------------------------------------------------------ QoS policies (epqos)


def qos_policy(name, **egress):
    pol = EpqosDefinition(parent_mo_or_dn="org-root", name=name, descr="netform test", policy_owner="local")
    EpqosEgress(parent_mo_or_dn=pol, **egress)
    return pol


def test_qos_policy_add_and_query_back(handle):
    dn = "org-root/ep-qos-nf-sdk-q1"
    handle.add_mo(qos_policy("nf-sdk-q1", rate="5000", burst="62500", prio="best-effort", host_control="none"))
    handle.commit()
    try:
        pol = handle.query_dn(dn)
        assert type(pol).__name__ == "EpqosDefinition"
        assert (pol.name, pol.descr, pol.policy_owner) == ("nf-sdk-q1", "netform test", "local")
        eg = handle.query_dn(dn + "/egress")
        assert type(eg).__name__ == "EpqosEgress"
        assert (eg.rate, eg.burst, eg.prio, eg.host_control, eg.oper_prio) == ("5000", "62500", "best-effort", "none", "best-effort")
        # Class queries, with a filter, and the hierarchy under the policy.
        assert [p.dn for p in handle.query_classid("EpqosDefinition", filter_str='(name, "nf-sdk-q1", type="eq")')] == [dn]
        assert dn + "/egress" in [e.dn for e in handle.query_classid("EpqosEgress")]
        assert sorted(m.dn for m in handle.query_dn(dn, hierarchy=True)) == [dn, dn + "/egress"]
        assert [c.dn for c in handle.query_children(in_dn=dn, class_id="EpqosEgress")] == [dn + "/egress"]
        found = handle.query_dns(dn, "org-root/ep-qos-nf-sdk-none")
        assert found[dn].name == "nf-sdk-q1" and found["org-root/ep-qos-nf-sdk-none"] is None
    finally:
        handle.remove_mo(handle.query_dn(dn))
        handle.commit()


def test_qos_policy_rate_modified_in_place(handle):
    dn = "org-root/ep-qos-nf-sdk-q2"
    handle.add_mo(qos_policy("nf-sdk-q2", rate="8", burst="0"))
    handle.commit()
    try:
        eg = handle.query_dn(dn + "/egress")
        assert (eg.rate, eg.burst) == ("8", "0")
        eg.rate = "100000000"
        handle.set_mo(eg)
        handle.commit()
        assert handle.query_dn(dn + "/egress").rate == "100000000"
        # The upsert netform sends (modify_present: created,modified) changes it again, and line-rate is a rate.
        handle.add_mo(qos_policy("nf-sdk-q2", rate="line-rate", burst="65535"), modify_present=True)
        handle.commit()
        eg = handle.query_dn(dn + "/egress")
        assert (eg.rate, eg.burst) == ("line-rate", "65535")
        assert [p.dn for p in handle.query_classid("EpqosDefinition", filter_str='(name, "nf-sdk-q2", type="eq")')] == [dn]
    finally:
        handle.remove_mo(handle.query_dn(dn))
        handle.commit()


@pytest.mark.parametrize("prop,value", [("rate", "7"), ("rate", "100000001"), ("burst", "65536"), ("prio", "diamond"), ("host_control", "some")])
def test_qos_policy_out_of_range_is_refused(handle, prop, value):
    # The SDK itself refuses the value (its meta is where the emulator's rules come from)...
    with pytest.raises(ValueError):
        EpqosEgress(parent_mo_or_dn="org-root/ep-qos-nf-sdk-bad", **{prop: value})
    # ...and so does the emulator when the value reaches it: set past the SDK's check.
    pol = qos_policy("nf-sdk-bad", rate="1000", burst="100", prio="gold", host_control="full")
    eg = pol.child[0]
    eg._ManagedObject__set_prop(prop, value, forced=True)
    handle.add_mo(pol)
    with pytest.raises(UcsException) as exc:
        handle.commit()
    assert exc.value.error_code == "150"
    assert "epqosEgress" in exc.value.error_descr and value in exc.value.error_descr
    # All or nothing: the policy did not stay behind without its egress.
    assert handle.query_dn("org-root/ep-qos-nf-sdk-bad") is None


def test_port_profile_resolves_its_qos_policy_and_delete_removes_it(handle):
    handle.add_mo(vlan("nf-q-vlan", 610))
    handle.commit()
    pol_dn = "org-root/ep-qos-nf-sdk-q3"
    pp_dn = "fabric/lan/profiles/vnic-nf-pp-q3"
    pp = VnicProfile(parent_mo_or_dn="fabric/lan/profiles", name="nf-pp-q3", qos_policy_name="nf-sdk-q3")
    VnicEtherIf(parent_mo_or_dn=pp, name="nf-q-vlan", default_net="yes")
    handle.add_mo(pp)
    handle.commit()
    # The named policy does not exist yet: nothing resolves.
    got = handle.query_dn(pp_dn)
    assert (got.qos_policy_name, got.qos_policy_dn, got.oper_qos_policy_name) == ("nf-sdk-q3", "", "")
    handle.add_mo(qos_policy("nf-sdk-q3", rate="1000"))
    handle.commit()
    got = handle.query_dn(pp_dn)
    assert (got.qos_policy_dn, got.oper_qos_policy_name) == (pol_dn, pol_dn)
    # Delete: the policy and its egress go together.
    handle.remove_mo(handle.query_dn(pol_dn))
    handle.commit()
    assert handle.query_dn(pol_dn) is None
    assert handle.query_dn(pol_dn + "/egress") is None
    assert handle.query_dn(pp_dn).qos_policy_dn == ""
    handle.remove_mo(handle.query_dn(pp_dn))
    handle.remove_mo(handle.query_dn("fabric/lan/net-nf-q-vlan"))
    handle.commit()
