#!/usr/bin/env bash
# A real OpenStack Keystone (Debian 12's `keystone` package) on loopback, for tests.
#
#   test/harness/keystone.sh install                        install the Debian packages if missing (idempotent)
#   test/harness/keystone.sh start DIR PORT [EXPIRATION]    fresh database and keys, bootstrap, start, wait until /v3 answers
#   test/harness/keystone.sh serve DIR PORT EXPIRATION      one more front end on DIR's database and keys, whose tokens last EXPIRATION s
#   test/harness/keystone.sh stop DIR                       stop the server and every front end
#   test/harness/keystone.sh url DIR                        print the identity endpoint (…/v3) of a started server
#
# Keystone runs from Debian's /usr/bin/keystone-wsgi-public under Debian's uwsgi (its python3 plugin),
# bound to 127.0.0.1:PORT, with an SQLite database, fernet tokens lasting EXPIRATION seconds (default
# 3600; Keystone allows any value >= 0) and bcrypt at its minimum cost (4 rounds) so that password and
# application-credential logins are cheap. Everything — config, database, keys, logs, the admin
# password (DIR/admin-password, mode 0600) — lives under DIR; nothing in /etc is read or written.
# `bootstrap` creates the user `admin` (role `admin` on project `admin`, domain Default), the region
# RegionOne and the identity endpoint (public, internal and admin) at http://127.0.0.1:PORT/v3.
#
# `serve` is for token-expiry tests: Keystone's token lifetime is global, and Neutron's keystonemiddleware
# logs in again before every request when tokens live under 2 minutes (keystoneauth renews 120 s before
# the end), which makes everything slow. So the main server keeps long tokens (for Neutron), and a
# second uwsgi on the same database and fernet keys issues short ones: they are the same Keystone, and
# the main server honours the expiry written into each fernet token.
set -Eeuo pipefail

# The script's own stderr, kept on fd 3: a step's output goes to its log file, and an error trap that
# fires inside that step must still reach whoever ran this script.
exec 3>&2
log() { printf '[keystone.sh] %s\n' "$*" >&3; }

# A step that fails says which, and shows the end of the logs it wrote (a silent `set -e` exit told
# a CI run nothing at all).
on_error() {
  local rc=$? line=$1 cmd=$2 f
  log "failed (exit $rc) at line $line: $cmd"
  if [ -n "${DIR:-}" ] && [ -d "$DIR/log" ]; then
    for f in "$DIR"/log/*; do
      [ -s "$f" ] || continue
      log "--- tail of $f"
      tail -n 30 "$f" >&3 || true
    done
  fi
  exit "$rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

install() {
  if command -v keystone-manage >/dev/null && [ -x /usr/bin/keystone-wsgi-public ] && command -v uwsgi >/dev/null \
     && [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] && command -v openstack >/dev/null; then
    return 0
  fi
  # Never let package scripts start daemons on this machine.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
  fi
  log "installing keystone (brings uwsgi and its python3 plugin; about 30 s)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends keystone python3-openstackclient >/dev/null
}

manage() { # keystone-manage with our config only
  /usr/bin/keystone-manage --config-file "$DIR/etc/keystone.conf" "$@"
}

start() {
  DIR=$(realpath -m "$1"); PORT=$2; EXPIRATION=${3:-3600}
  stop_quiet "$DIR"
  rm -rf "$DIR"
  mkdir -p "$DIR/etc/policy.d" "$DIR/log"
  mkdir -p -m 700 "$DIR/state" "$DIR/state/fernet-keys" "$DIR/state/credential-keys"
  local url="http://127.0.0.1:$PORT/v3"
  cat > "$DIR/etc/keystone.conf" <<EOF
# netform's test Keystone (written by test/harness/keystone.sh).
[DEFAULT]
debug = false
use_stderr = false
log_dir = $DIR/log
log_file = keystone.log

[database]
connection = sqlite:///$DIR/state/keystone.sqlite

[token]
provider = fernet
expiration = $EXPIRATION

[fernet_tokens]
key_repository = $DIR/state/fernet-keys

[fernet_receipts]
key_repository = $DIR/state/fernet-keys

[credential]
key_repository = $DIR/state/credential-keys

[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = 4

[oslo_policy]
# No policy file: Keystone's built-in defaults. policy.d is an existing, empty directory.
policy_file = $DIR/etc/policy.yaml
policy_dirs = $DIR/etc/policy.d

[cache]
enabled = false
EOF
  (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$DIR/admin-password")
  local t0=$SECONDS
  # One after the other (each keystone-manage is mostly Python start-up, about 2.5 s): a CI run once
  # failed here with nothing said, and the three running side by side was the one thing that differs
  # from how Keystone is installed anywhere else.
  manage fernet_setup --keystone-user root --keystone-group root > "$DIR/log/fernet-setup.log" 2>&1
  manage credential_setup --keystone-user root --keystone-group root > "$DIR/log/credential-setup.log" 2>&1
  manage db_sync > "$DIR/log/db-sync.log" 2>&1
  manage bootstrap --bootstrap-password "$(cat "$DIR/admin-password")" \
    --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$url" --bootstrap-internal-url "$url" --bootstrap-public-url "$url" \
    > "$DIR/log/bootstrap.log" 2>&1
  # WAL: a reader never blocks a writer. In the default rollback journal, a Keystone worker that is
  # done with a request can still hold its SQLite read lock, and the next write in another worker
  # waits 5 s and fails with "database is locked" (HTTP 500).
  sqlite3 "$DIR/state/keystone.sqlite" 'PRAGMA journal_mode=WAL;' > /dev/null
  log "database, keys and bootstrap in $((SECONDS - t0)) s"

  serve_uwsgi "$PORT" uwsgi "$DIR/etc/keystone.conf"
}

serve_uwsgi() { # port name config-files(;-separated, inside DIR/etc)
  local port=$1 name=$2 files=$3 url="http://127.0.0.1:$1/v3"
  # Debian's python3 plugin embeds Debian's Python; keep a pyenv's variables out of it.
  # Several single-threaded workers, not threads: Keystone's SQLite connections break when one is
  # finished from another thread (sqlite3.ProgrammingError, then "database is locked" 500s).
  # --http-socket answers HTTP/1.1 and closes the connection without saying so; a keep-alive client
  # (undici) reusing the socket then fails with "other side closed". "Connection: close" tells it.
  # (--http11-socket keeps connections alive but each one holds a worker while it is open.)
  env -u PYTHONPATH -u PYTHONHOME OS_KEYSTONE_CONFIG_FILES="$files" \
    uwsgi --plugins python3 --http-socket "127.0.0.1:$port" --add-header 'Connection: close' \
      --wsgi-file /usr/bin/keystone-wsgi-public --master --processes "${KEYSTONE_WORKERS:-3}" --threads 1 \
      --die-on-term --need-app --buffer-size 65535 --chdir "$DIR/state" --logto "$DIR/log/$name.log" \
      > "$DIR/log/$name.stdout" 2>&1 3>&- &
  local pid=$!
  echo "$pid" > "$DIR/state/$name.pid"
  if [ "$name" = uwsgi ]; then echo "$url" > "$DIR/url"; fi
  for _ in $(seq 1 600); do
    if curl -sf -o /dev/null "$url"; then log "Keystone answers on $url (state in $DIR)"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then log "uwsgi died; see $DIR/log"; return 1; fi
    sleep 0.1
  done
  log "Keystone did not come up in 60 s; see $DIR/log"
  return 1
}

serve() { # DIR PORT EXPIRATION: another front end, tokens lasting EXPIRATION s
  DIR=$(realpath -m "$1"); local port=$2 expiration=$3
  [ -f "$DIR/etc/keystone.conf" ] || { log "no Keystone in $DIR"; return 1; }
  printf '[token]\nexpiration = %s\n' "$expiration" > "$DIR/etc/tokens-$port.conf"
  serve_uwsgi "$port" "uwsgi-$port" "$DIR/etc/keystone.conf;$DIR/etc/tokens-$port.conf"
}

stop_quiet() {
  local dir=$1 f pid
  for f in "$dir"/state/uwsgi*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if kill "$pid" 2>/dev/null; then # --die-on-term: the master takes its workers with it
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

case "${1:-}" in
  install) install ;;
  start) [ $# -ge 3 ] || { echo "usage: $0 start DIR PORT [EXPIRATION]" >&2; exit 2; }; install; start "$2" "$3" "${4:-}" ;;
  serve) [ $# -ge 4 ] || { echo "usage: $0 serve DIR PORT EXPIRATION" >&2; exit 2; }; serve "$2" "$3" "$4" ;;
  stop) [ $# -ge 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop_quiet "$(realpath -m "$2")" ;;
  url) cat "$(realpath -m "$2")/url" ;;
  *) echo "usage: $0 install | start DIR PORT [EXPIRATION] | serve DIR PORT EXPIRATION | stop DIR | url DIR" >&2; exit 2 ;;
esac
