#!/usr/bin/env bash
# Builds the kstatus CLI (main.go: kstatus from sigs.k8s.io/cli-utils, at the version go.mod
# requires) and prints the binary's path on stdout. The binary is cached under
#   ${NETFORM_CACHE:-$HOME/.cache/netform}/kstatus/cli-utils-<version>-<hash of go.mod, go.sum, main.go>/
# and reused; nothing is written into the repository (-mod=readonly: the committed go.sum is
# complete, a fresh clone only needs the Go module proxy). Needs Go >= 1.24 (GO=/path/to/go).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

V=$(awk '$1=="sigs.k8s.io/cli-utils" && $2 ~ /^v/ {print $2; exit}' "$HERE/go.mod")
[ -n "$V" ] || { echo "kstatus/build.sh: no sigs.k8s.io/cli-utils version in $HERE/go.mod" >&2; exit 1; }
H=$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" | sha256sum | cut -c1-12)
CACHE=${NETFORM_CACHE:-$HOME/.cache/netform}
OUT="$CACHE/kstatus/cli-utils-$V-$H"
BIN="$OUT/kstatus"

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9 # concurrent test files wait for one build

if [ ! -x "$BIN" ]; then
  [ -x "$GO" ] || { echo "kstatus/build.sh: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
  echo "kstatus/build.sh: building kstatus (sigs.k8s.io/cli-utils $V) with $("$GO" version) into $OUT" >&2
  cd "$HERE"
  GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
    "$GO" build -trimpath -ldflags "-s -w" -o "$BIN.tmp" .
  mv -f "$BIN.tmp" "$BIN"
fi
echo "$BIN"
