#!/usr/bin/env bash
# Run by `npm start` before the demo: the demo host needs Open vSwitch and iproute2 (Debian packages).
set -euo pipefail
missing=()
command -v ovs-vswitchd >/dev/null || missing+=(openvswitch-switch)
command -v ip >/dev/null || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "the demo needs ${missing[*]}: install them (as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
# Never let package scripts start the system's own Open vSwitch.
[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
echo "[demo] installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
