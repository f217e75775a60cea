#!/usr/bin/env bash
# Build (or reuse) everything needed to boot a full Debian kernel under QEMU/TCG
# with the host's root filesystem shared read-only over virtio-9p.
#
#   test/harness/qemu/build.sh          -> prints the cache directory as the LAST stdout line
#
# Cache layout (outside the repository):
#   ${NETFORM_CACHE:-$HOME/.cache/netform}/qemu/
#     .build.lock                 flock(1) serialising concurrent builds
#     <kver>/                     e.g. 6.1.0-56-amd64; shared read-only into the guest as tag "netform"
#       linux-image-<kver>_*.deb  the downloaded package (deleted once extracted)
#       root/                     dpkg-deb -x of the package (+ depmod -b): boot/, lib/modules/<kver>/
#       vmlinux                   uncompressed ELF with PVH note (absent if extraction failed)
#       initrd.gz                 busybox-static initramfs (virtio + 9p modules, /init)
#       guest/init                PID 1 after switch_root (runs the job, powers off)
#       guest/bin/modprobe        kmod modprobe wrapper pointing at root/
#       guest.env                 KEY=VALUE manifest read by guest.ts
#       .recipe                   hash of this script; the initramfs/guest files are rebuilt when it changes
#     jobs/<id>/                  per-run job shares (created by guest.ts)
#
# Environment:
#   NETFORM_CACHE                 cache root (default $HOME/.cache/netform)
#   NETFORM_QEMU_KERNEL_PKG       force a kernel package (default: what linux-image-amd64 depends on)
set -euo pipefail

log() { printf '[qemu-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
CACHE_ROOT="${NETFORM_CACHE:-$HOME/.cache/netform}"
BASE="$CACHE_ROOT/qemu"
mkdir -p "$BASE"
BASE="$(readlink -f "$BASE")"

# ---------------------------------------------------------------- packages
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
# The initramfs needs a STATIC busybox (Debian's plain `busybox` package is dynamically linked).
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need_pkgs+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need_pkgs+=(cpio)
command -v depmod >/dev/null 2>&1 || need_pkgs+=(kmod)
command -v xz >/dev/null 2>&1 || need_pkgs+=(xz-utils)
command -v readelf >/dev/null 2>&1 || need_pkgs+=(binutils)   # PVH-note check of the extracted vmlinux
[ -f /usr/share/qemu/qboot.rom ] || { [[ " ${need_pkgs[*]-} " == *qemu-system-x86* ]] || need_pkgs+=(qemu-system-x86); }

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    apt_updated=1
  fi
}

exec 9>"$BASE/.build.lock"
flock 9

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${need_pkgs[*]}) and not root"
  log "installing ${need_pkgs[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2; then
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2 \
      || die "apt-get install ${need_pkgs[*]} failed"
  fi
fi

# ---------------------------------------------------------------- kernel package name
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9].*-amd64$/ { print $2; exit }'
}
# apt-cache takes ~1 s; remember its answer until the apt lists change.
lists_sig="$( (stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null || true) | sha256sum | cut -c1-16)"
PKG="${NETFORM_QEMU_KERNEL_PKG:-}"
if [ -z "$PKG" ] && [ -f "$BASE/.kernel-pkg" ]; then
  read -r sig cached_pkg <"$BASE/.kernel-pkg" || true
  [ "${sig:-}" = "$lists_sig" ] && PKG="${cached_pkg:-}"
fi
if [ -z "$PKG" ]; then
  PKG="$(kernel_pkg || true)"
  if [ -z "$PKG" ]; then
    apt_update_once
    PKG="$(kernel_pkg || true)"
    lists_sig="$( (stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* 2>/dev/null || true) | sha256sum | cut -c1-16)"
  fi
  if [ -n "$PKG" ]; then
    echo "$lists_sig $PKG" >"$BASE/.kernel-pkg"
  else
    # Offline and no apt lists: reuse the newest complete cache entry, if any.
    for d in $(ls -1d "$BASE"/*-amd64 2>/dev/null | sort -V -r); do
      [ -f "$d/guest.env" ] && PKG="linux-image-$(basename "$d")" && break
    done
  fi
fi
[ -n "$PKG" ] || die "cannot determine the kernel package (apt-cache depends linux-image-amd64 gave nothing)"
KVER="${PKG#linux-image-}"
DIR="$BASE/$KVER"
mkdir -p "$DIR"
RECIPE="$(sha256sum "$SELF" | cut -c1-16)"

if [ -f "$DIR/guest.env" ] && [ "$(cat "$DIR/.recipe" 2>/dev/null)" = "$RECIPE" ]; then
  log "cached: $DIR"
  echo "$DIR"
  exit 0
fi

# ---------------------------------------------------------------- kernel + modules
ROOT="$DIR/root"
if [ ! -f "$ROOT/.extracted" ]; then
  deb="$(ls -1 "$DIR"/"$PKG"_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    log "apt-get download $PKG"
    dl="$DIR/.dl"; rm -rf "$dl"; mkdir -p "$dl"
    if ! (cd "$dl" && apt-get download -qq "$PKG" >&2); then
      apt_update_once
      (cd "$dl" && apt-get download -qq "$PKG" >&2) || die "apt-get download $PKG failed"
    fi
    mv "$dl"/"$PKG"_*.deb "$DIR"/ && rm -rf "$dl"
    deb="$(ls -1 "$DIR"/"$PKG"_*.deb | head -n1)"
  fi
  log "extracting $(basename "$deb")"
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  dpkg-deb -x "$deb" "$ROOT"
  depmod -b "$ROOT" "$KVER"
  touch "$ROOT/.extracted"
  rm -f "$deb"   # 70 MB we no longer need
fi
BZ="$ROOT/boot/vmlinuz-$KVER"
MODDIR="$ROOT/lib/modules/$KVER"
[ -f "$BZ" ] || die "no kernel image at $BZ"
[ -f "$MODDIR/modules.dep" ] || die "depmod did not produce $MODDIR/modules.dep"

# ---------------------------------------------------------------- vmlinux (PVH ELF) from the bzImage
# The payload of a Debian bzImage is an xz stream; decompress from its magic and keep the result
# only if it is an ELF carrying the Xen PVH entry note (what lets qboot/QEMU boot it directly).
if [ ! -f "$DIR/.vmlinux-tried" ]; then
  rm -f "$DIR/vmlinux"
  for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$BZ" 2>/dev/null | cut -d: -f1 | head -n 5); do
    tail -c +"$((off + 1))" "$BZ" | xz -dc --single-stream >"$DIR/vmlinux.tmp" 2>/dev/null || true
    if [ "$(head -c 4 "$DIR/vmlinux.tmp" 2>/dev/null | od -An -c | tr -d ' \n')" = '177ELF' ] \
      && readelf -n "$DIR/vmlinux.tmp" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
      mv "$DIR/vmlinux.tmp" "$DIR/vmlinux"
      break
    fi
  done
  rm -f "$DIR/vmlinux.tmp"
  if [ -f "$DIR/vmlinux" ]; then log "extracted PVH vmlinux"; else log "vmlinux extraction failed; will boot the bzImage"; fi
  touch "$DIR/.vmlinux-tried"
fi
if [ -f "$DIR/vmlinux" ]; then KERNEL="$DIR/vmlinux"; else KERNEL="$BZ"; fi

# ---------------------------------------------------------------- initramfs
# virtio + 9p are modules in Debian's kernel; resolve their load order from modules.dep.
log "building initramfs"
IR="$DIR/.initramfs"
rm -rf "$IR"; mkdir -p "$IR"/{bin,dev,proc,sys,newroot,mods}
cp /bin/busybox "$IR/bin/busybox"
for a in sh mount mkdir insmod switch_root cat echo sleep poweroff ls ip printf; do ln -s busybox "$IR/bin/$a"; done

order="$(modprobe -d "$ROOT" -S "$KVER" --show-depends -a virtio_pci 9pnet_virtio 9p 2>/dev/null \
  | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++')"
[ -n "$order" ] || die "modprobe --show-depends found no modules"
: >"$IR/mods/order"
for ko in $order; do
  name="$(basename "$ko")"
  case "$name" in
    *.ko.xz) xz -dc "$ko" >"$IR/mods/${name%.xz}"; name="${name%.xz}" ;;
    *.ko.zst) zstd -qdc "$ko" >"$IR/mods/${name%.zst}"; name="${name%.zst}" ;;
    *.ko) cp "$ko" "$IR/mods/$name" ;;
    *) die "unexpected module file $ko" ;;
  esac
  echo "$name" >>"$IR/mods/order"
done
log "initramfs modules: $(tr '\n' ' ' <"$IR/mods/order")"

cat >"$IR/init" <<'EOF'
#!/bin/sh
# netform initramfs: load virtio/9p, mount the host root (ro), tmpfs, job + netform shares, switch_root.
# Everything that can be done with the in-RAM busybox is done here: an exec over 9p costs far more.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /mods/order); do insmod "/mods/$m" || echo "netform-initramfs: insmod $m failed"; done
o=trans=virtio,version=9p2000.L,msize=262144
fail() { echo "netform-initramfs: $*"; echo o >/proc/sysrq-trigger; poweroff -f; }
N=/newroot
mount -t 9p -o ro,$o,cache=loose root $N || fail "cannot mount root share"
for d in tmp run var; do mount -t tmpfs -o mode=1777 tmpfs "$N/$d" || fail "tmpfs /$d"; done
mkdir -p $N/run/job $N/run/netform $N/run/modprobe.d $N/run/lock $N/var/tmp
mount -t 9p -o $o job $N/run/job || fail "cannot mount job share"
# A working directory the tmpfs mounts would hide (a checkout under /tmp) comes as its own share.
if [ -s $N/run/job/cwd-share ]; then
  read -r p <$N/run/job/cwd-share
  mkdir -p "$N$p" && mount -t 9p -o ro,$o,cache=loose cwd "$N$p" || fail "cannot mount the cwd share at $p"
fi
mount -t 9p -o ro,$o,cache=loose netform $N/run/netform || fail "cannot mount netform share"
mount --move /dev $N/dev
mkdir -p $N/dev/pts $N/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $N/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $N/dev/shm
# Kernel-requested modules (e.g. `ip link add type vlan`) go through kmod against the extracted tree;
# options so that loading bonding/dummy/ifb creates no bond0/dummy0/ifb0.
echo /run/netform/guest/bin/modprobe >/proc/sys/kernel/modprobe
printf 'options bonding max_bonds=0\noptions dummy numdummies=0\noptions ifb numifbs=0\n' >$N/run/modprobe.d/netform.conf
ip link set lo up
mount --move /proc $N/proc
mount --move /sys $N/sys
exec switch_root $N /run/netform/guest/init
EOF
chmod 755 "$IR/init"
(cd "$IR" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc --quiet | gzip -1 >"$DIR/initrd.gz.tmp")
mv "$DIR/initrd.gz.tmp" "$DIR/initrd.gz"
rm -rf "$IR"

# ---------------------------------------------------------------- guest-side files (seen at /run/netform)
G="$DIR/guest"
rm -rf "$G.tmp"; mkdir -p "$G.tmp/bin"
cat >"$G.tmp/bin/modprobe" <<EOF
#!/bin/sh
# kmod modprobe against the extracted module tree (the host root has no /lib/modules for this kernel)
exec /usr/sbin/modprobe -d /run/netform/root "\$@"
EOF
chmod 755 "$G.tmp/bin/modprobe"

cat >"$G.tmp/init" <<'EOF'
#!/bin/sh
# netform guest PID 1 (host's /bin/sh): load the network modules, run /run/job/cmd, record out + rc, power off.
# Mounts, lo and the modprobe hook were set up by the initramfs. Shell builtins only where possible.
export PATH=/run/netform/guest/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8 NETFORM_IN_GUEST=1
modprobe -a 8021q bonding dummy openvswitch bridge veth tun || echo "netform-guest: modprobe failed"
read -r kver </proc/sys/kernel/osrelease
echo "netform-guest: kernel $kver ready"
cwd=/
[ -s /run/job/cwd ] && read -r cwd </run/job/cwd
[ -f /run/job/env ] && . /run/job/env
if cd "$cwd" 2>/dev/null; then
  first=; read -r first </run/job/cmd || true
  case "$first" in
    '#!'*) /run/job/cmd </dev/null >/run/job/out 2>&1 ;;   # honour a shebang (e.g. bash)
    *) /bin/sh /run/job/cmd </dev/null >/run/job/out 2>&1 ;;
  esac
  rc=$?
else
  echo "netform-guest: cannot cd to $cwd (hidden by a guest tmpfs or missing?)" >/run/job/out
  rc=125
fi
echo "$rc" >/run/job/rc
echo "netform-guest: job exited $rc"
/bin/busybox poweroff -f   # syncs first (no -n)
echo o >/proc/sysrq-trigger
EOF
chmod 755 "$G.tmp/init"
rm -rf "$G"; mv "$G.tmp" "$G"

cat >"$DIR/guest.env.tmp" <<EOF
KVER=$KVER
PKG=$PKG
KERNEL=$KERNEL
INITRD=$DIR/initrd.gz
SHARE=$DIR
BIOS=/usr/share/qemu/qboot.rom
EOF
mv "$DIR/guest.env.tmp" "$DIR/guest.env"
echo "$RECIPE" >"$DIR/.recipe"
log "built: $DIR (kernel $(basename "$KERNEL"))"
echo "$DIR"
