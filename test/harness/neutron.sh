#!/usr/bin/env bash
# A real OpenStack Neutron API server (Debian 12's packages) on loopback, for tests, benchmarks and demos.
#
#   test/harness/neutron.sh install                      install the Debian packages if missing (idempotent)
#   test/harness/neutron.sh start DIR PORT [DB_PORT]     fresh database, start, wait until GET /v2.0/networks answers
#   test/harness/neutron.sh stop DIR                     stop the server and its database
#   test/harness/neutron.sh url DIR                      print the endpoint of a started server
#
# Neutron runs with auth_strategy = noauth (every request is admin), ML2 flat+vlan on physnet1..3, no
# agents, no message bus, global_physnet_mtu 9000, and a private MariaDB. Debian's Neutron runs under
# Debian's /usr/bin/python3 (its scripts say so), whatever python3 comes first on the PATH.
#
# Behind Keystone instead of noauth (used by test/neutron/keystone.test.ts with test/harness/keystone.sh):
#   NEUTRON_AUTH=keystone KEYSTONE_URL=http://127.0.0.1:P/v3 NEUTRON_KEYSTONE_PASSWORD=... neutron.sh start DIR PORT
# adds DIR/etc/keystone-auth.conf (auth_strategy = keystone, [keystone_authtoken] as the service user
# `neutron` in project `service`, token_cache_time = -1 so a revoked token is refused at once) and waits
# for the 401 of an unauthenticated GET /v2.0/networks instead of a 200. Without NEUTRON_AUTH nothing changes.
#
# NEUTRON_API_WORKERS=N starts N API worker processes (api_workers) instead of one API process (0, the default
# here; Neutron's own default is one per CPU). bench/neutron.ts passes BENCH_NEUTRON_API_WORKERS through.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { printf '[neutron.sh] %s\n' "$*" >&2; }

install() {
  if command -v neutron-server >/dev/null && command -v mariadbd >/dev/null && command -v openstack >/dev/null; then
    return 0
  fi
  # Never let package scripts start daemons on this machine.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  log "installing neutron-common, mariadb-server and python3-openstackclient (about a minute)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    neutron-common mariadb-server python3-openstackclient >/dev/null
}

render() { # template output
  sed -e "s|@PORT@|$PORT|g" -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@ETC@|$DIR/etc|g" -e "s|@STATE@|$DIR/state|g" \
      -e "s|@LOG@|$DIR/log|g" -e "s|@MYSQL@|$DIR/mysql|g" -e "s|@API_WORKERS@|$API_WORKERS|g" "$1" > "$2"
}

wait_for() { # what pidfile-or-pid command...
  local what=$1 pid=$2; shift 2
  for _ in $(seq 1 600); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then log "$what died; see $DIR/log"; return 1; fi
    sleep 0.1
  done
  log "$what did not come up in 60 s; see $DIR/log"
  return 1
}

start() {
  DIR=$(realpath -m "$1"); PORT=$2; DB_PORT=${3:-$((PORT + 1))}
  API_WORKERS=${NEUTRON_API_WORKERS:-0}
  if ! [[ $API_WORKERS =~ ^[0-9]{1,2}$ ]]; then log "NEUTRON_API_WORKERS must be a number of processes, not '$API_WORKERS'"; return 1; fi
  stop_quiet "$DIR"
  rm -rf "$DIR"
  mkdir -p "$DIR/etc/policy.d" "$DIR/state/lock" "$DIR/log" "$DIR/mysql"
  cp /etc/neutron/api-paste.ini "$DIR/etc/"
  render "$here/neutron/neutron.conf.in" "$DIR/etc/neutron.conf"
  cp "$here/neutron/ml2_conf.ini" "$DIR/etc/ml2_conf.ini"
  render "$here/neutron/my.cnf.in" "$DIR/etc/my.cnf"

  mariadb-install-db --defaults-file="$DIR/etc/my.cnf" --auth-root-authentication-method=normal --skip-test-db \
    > "$DIR/log/mariadb-install.log" 2>&1
  mariadbd --defaults-file="$DIR/etc/my.cnf" > "$DIR/log/mariadbd.stdout" 2>&1 &
  echo $! > "$DIR/mysql/mariadbd.bgpid"
  wait_for mariadbd "$(cat "$DIR/mysql/mariadbd.bgpid")" mariadb -S "$DIR/mysql/mysqld.sock" -uroot -e 'SELECT 1'
  mariadb -S "$DIR/mysql/mysqld.sock" -uroot -e "CREATE DATABASE neutron CHARACTER SET utf8mb4;
    CREATE USER 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutron'; GRANT ALL ON neutron.* TO 'neutron'@'127.0.0.1';"
  neutron-db-manage --config-file "$DIR/etc/neutron.conf" --config-file "$DIR/etc/ml2_conf.ini" upgrade heads \
    > "$DIR/log/db-manage.log" 2>&1

  local extra=() ready=(curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2.0/networks")
  if [ "${NEUTRON_AUTH:-noauth}" = keystone ]; then
    keystone_auth_conf
    extra=(--config-file "$DIR/etc/keystone-auth.conf")
    ready=(unauthenticated_is_refused)
  fi
  neutron-server --config-file "$DIR/etc/neutron.conf" --config-file "$DIR/etc/ml2_conf.ini" "${extra[@]}" \
    > "$DIR/log/server.stdout" 2>&1 &
  echo $! > "$DIR/state/neutron-server.pid"
  echo "http://127.0.0.1:$PORT" > "$DIR/url"
  wait_for neutron-server "$(cat "$DIR/state/neutron-server.pid")" "${ready[@]}"
  log "Neutron answers on http://127.0.0.1:$PORT (state in $DIR)"
}

keystone_auth_conf() { # DIR/etc/keystone-auth.conf from KEYSTONE_URL and NEUTRON_KEYSTONE_PASSWORD (mode 0600)
  : "${KEYSTONE_URL:?NEUTRON_AUTH=keystone needs KEYSTONE_URL}" "${NEUTRON_KEYSTONE_PASSWORD:?NEUTRON_AUTH=keystone needs NEUTRON_KEYSTONE_PASSWORD}"
  (umask 077; cat > "$DIR/etc/keystone-auth.conf" <<EOF
# Neutron behind Keystone (test/harness/neutron.sh, NEUTRON_AUTH=keystone).
[DEFAULT]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = $KEYSTONE_URL
auth_url = $KEYSTONE_URL
auth_type = password
username = neutron
password = $NEUTRON_KEYSTONE_PASSWORD
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = RegionOne
interface = public
token_cache_time = -1
EOF
  )
}

unauthenticated_is_refused() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2.0/networks")" = 401 ]
}

kill_wait() { # pidfile
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop_quiet() {
  local dir=$1
  [ -d "$dir" ] || return 0
  kill_wait "$dir/state/neutron-server.pid"
  kill_wait "$dir/mysql/mariadbd.bgpid"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -ge 3 ] || { echo "usage: $0 start DIR PORT [DB_PORT]" >&2; exit 2; }; install; start "$2" "$3" "${4:-}" ;;
  stop) [ $# -ge 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop_quiet "$(realpath -m "$2")" ;;
  url) cat "$(realpath -m "$2")/url" ;;
  *) echo "usage: $0 install | start DIR PORT [DB_PORT] | stop DIR | url DIR" >&2; exit 2 ;;
esac
