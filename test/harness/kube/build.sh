#!/usr/bin/env bash
# Build kube-apiserver and etcd from the Go module proxy for netform's cluster-mode tests.
#
#   test/harness/kube/build.sh           # build when missing, print both versions
#   test/harness/kube/build.sh --print-dir   # only print the binary directory (no build)
#
# The versions come from go.mod in this directory (k8s.io/kubernetes and go.etcd.io/etcd/server/v3).
# Binaries go to ${NETFORM_CACHE:-$HOME/.cache/netform}/kube-bins/<k8s>-etcd-<etcd>/ and are reused
# when present; nothing is ever written into the repository (go.mod/go.sum are only read: -mod=readonly).
# Needs a Go >= 1.24 toolchain (the `tool` directive) and the Go module proxy. Override the Go
# binary with GO=/path/to/go. A cold build takes ~10-15 min on 2 cores; concurrent callers wait on a lock.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

modver() { awk -v m="$1" '$1==m && $2 ~ /^v/ {print $2; exit}' "$HERE/go.mod"; }
K=$(modver k8s.io/kubernetes)          # v1.34.10
E=$(modver go.etcd.io/etcd/server/v3)  # v3.6.4
[ -n "$K" ] && [ -n "$E" ] || { echo "build.sh: cannot read versions from $HERE/go.mod" >&2; exit 1; }

CACHE=${NETFORM_CACHE:-$HOME/.cache/netform}
OUT="$CACHE/kube-bins/$K-etcd-$E"

if [ "${1:-}" = "--print-dir" ]; then echo "$OUT"; exit 0; fi

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9   # a second test process waits for the first build instead of starting its own

if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ]; then
  echo "build.sh: reusing $OUT" >&2
else
  [ -x "$GO" ] || { echo "build.sh: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
  export GOTOOLCHAIN=local CGO_ENABLED=0
  # readonly: the committed go.sum is complete, so a fresh clone only needs the module proxy
  # (and sum.golang.org through it); -buildvcs=false because no VCS stamping is wanted.
  export GOFLAGS="-mod=readonly -buildvcs=false"
  minor=${K#v1.}; minor=${minor%%.*}
  LD="-s -w"
  LD+=" -X k8s.io/component-base/version.gitVersion=$K"
  LD+=" -X k8s.io/component-base/version.gitMajor=1"
  LD+=" -X k8s.io/component-base/version.gitMinor=$minor"
  LD+=" -X k8s.io/component-base/version.gitTreeState=clean"
  LD+=" -X k8s.io/client-go/pkg/version.gitVersion=$K"
  LD+=" -X k8s.io/client-go/pkg/version.gitMajor=1"
  LD+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  start=$(date +%s)
  echo "build.sh: building kube-apiserver $K and etcd $E with $("$GO" version) into $OUT" >&2
  cd "$HERE"
  # build to a temporary name and rename, so an interrupted build is never mistaken for a finished one
  "$GO" build -trimpath -tags grpcnotrace -ldflags "$LD" -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mid=$(date +%s)
  echo "build.sh: kube-apiserver built in $((mid - start))s" >&2
  "$GO" build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv -f "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
  mv -f "$OUT/etcd.tmp" "$OUT/etcd"
  end=$(date +%s)
  echo "build.sh: etcd built in $((end - mid))s; total $((end - start))s" >&2
fi

"$OUT/kube-apiserver" --version
"$OUT/etcd" --version
