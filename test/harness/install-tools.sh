#!/usr/bin/env bash
# Installs what the tests need beyond npm (idempotent; CI runs it on every fresh machine):
#   - Neutron server, MariaDB, the openstack CLI      (test/harness/neutron.sh install)
#   - Keystone (with uwsgi and its python3 plugin)    (test/harness/keystone.sh install)
#   - Open vSwitch and ping                            (fake hypervisor hosts, the host agent)
#   - iperf3, tcpdump, ethtool                         (vNIC limits measured, mirroring captured: test/host/vnic-qos.test.ts)
#   - QEMU, busybox, cpio                              (the full-kernel guest for VLANs and bonds)
#   - nftables, netcat-openbsd                         (security groups and routers on hosts, tested with real connections)
#   - chromium, fonts-dejavu-core                      (the console's browser tests, test/console, and bench/console.ts)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/neutron.sh" install
bash "$here/keystone.sh" install
need=()
command -v ovs-vswitchd >/dev/null || need+=(openvswitch-switch)
command -v ping >/dev/null || need+=(iputils-ping)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ethtool >/dev/null || need+=(ethtool)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v nft >/dev/null || need+=(nftables)          # security groups and router SNAT on hosts (test/host/l3.test.ts, firewall.test.ts)
command -v nc >/dev/null || need+=(netcat-openbsd)     # real connections through them
command -v lua5.1 >/dev/null || need+=(lua5.1)          # the Argo CD health check (test/manifests), Lua 5.1 like Argo's gopher-lua
command -v lua5.4 >/dev/null || need+=(lua5.4)
command -v chromium >/dev/null || need+=(chromium)      # headless, driven by puppeteer-core (test/harness/browser.ts)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)   # the console's font in screenshots
if [ ${#need[@]} -gt 0 ]; then
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  echo "[install-tools] installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
