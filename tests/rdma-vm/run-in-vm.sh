#!/usr/bin/env bash
# Runs one command inside a small QEMU guest that has real RDMA verbs over soft-RoCE (rxe).
#
#   run-in-vm.sh [--timeout SECONDS] [--results DIR] [--cpus N] [--mem MB] -- COMMAND [ARGS...]
#
# The guest boots Debian's stock kernel (linux-image-amd64) under TCG emulation; its root file
# system is the host's own, read-only over 9p, with a tmpfs overlay on top (guest writes vanish at
# power-off). Inside the guest: rdma_rxe loaded, veth pair veth0 (198.18.0.1/24) <-> veth1
# (198.18.0.2/24), MTU 9000, rxe0 on veth0 (active MTU 4096), 'ulimit -l unlimited', and
#   HPCLESS_RDMA_ADDRESS=198.18.0.1 HPCLESS_RDMA_DEVICE=rxe0 HPCLESS_IN_RDMA_VM=1
# plus every HPCLESS_* and GTEST_* variable of the host environment. COMMAND runs as root in the
# host's current directory (same path), stdin /dev/null, stdout/stderr on the guest console, which
# this script streams to its stdout. Its exit status is reported back through a last console line
# "RESULT rc=N" and becomes this script's exit status.
#
#   --timeout S  bound on the whole run, boot to power-off (default 600). QEMU is killed at S;
#                COMMAND itself is stopped inside the guest 10 s earlier (rc 124) so that the
#                guest can still report.
#   --results D  host directory (created if missing) shared writable with the guest at the same
#                path: the only place where guest writes survive. Default: none.
#   --cpus N     guest vCPUs (default 2).   --mem MB  guest memory (default 2048).
#
# Exit status: COMMAND's; 1 when the guest gave no RESULT line (timeout, panic, failed set-up);
# 2 on a usage error; 77 (CTest's skip code) when QEMU, the kernel or busybox is missing, with a
# line "RDMA-VM SKIP: ...". No network: '-nic none'; the guest's only addresses are 127.0.0.1 and
# 198.18.0.0/15 (reserved for benchmarking).
#
# Environment: HPCLESS_RDMA_VM_KERNEL=VER picks a kernel; HPCLESS_RDMA_VM_CACHE=DIR is where the
# initramfs is cached (default ${XDG_CACHE_HOME:-$HOME/.cache}/hpcless-rdma-vm).
set -euo pipefail

self="$(readlink -f "${BASH_SOURCE[0]}")"

usage() {
  sed -n '4p' "$self" | sed 's/^# *//' >&2
  exit 2
}
skip() {
  echo "RDMA-VM SKIP: $*"
  exit 77
}
die() {
  echo "run-in-vm: $*" >&2
  exit 1
}

timeout_s=600 results="" cpus=2 mem=2048
while [[ $# -gt 0 ]]; do
  case "$1" in
    --timeout) timeout_s="${2:?}"; shift 2 ;;
    --results) results="${2:?}"; shift 2 ;;
    --cpus) cpus="${2:?}"; shift 2 ;;
    --mem) mem="${2:?}"; shift 2 ;;
    --) shift; break ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$self"; exit 0 ;;
    *) usage ;;
  esac
done
[[ $# -ge 1 ]] || usage
for n in "$timeout_s" "$cpus" "$mem"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "run-in-vm: not a positive number: $n" >&2; usage; }
done

[[ "${HPCLESS_IN_RDMA_VM:-}" != 1 ]] || skip "already inside the RDMA VM (no nested guests)"

# --- what the guest needs from the host ----------------------------------------------------------

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
  skip "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
for t in modinfo modprobe; do
  command -v "$t" >/dev/null 2>&1 || skip "$t not found (Debian package kmod)"
done
for t in ip rdma; do
  command -v "$t" >/dev/null 2>&1 || skip "$t not found (Debian package iproute2)"
done

# Kernel: the newest version that has both /boot/vmlinuz-VER and /lib/modules/VER.
kver="${HPCLESS_RDMA_VM_KERNEL:-}"
if [[ -z "$kver" ]]; then
  while IFS= read -r v; do
    [[ -f "/boot/vmlinuz-$v" ]] && kver="$v"
  done < <(find /lib/modules -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V)
fi
[[ -n "$kver" ]] ||
  skip "no kernel with both /boot/vmlinuz-VER and /lib/modules/VER (Debian package linux-image-amd64)"
[[ -f "/boot/vmlinuz-$kver" && -d "/lib/modules/$kver" ]] ||
  skip "kernel $kver: no /boot/vmlinuz-$kver or /lib/modules/$kver (Debian package linux-image-amd64)"
kernel="/boot/vmlinuz-$kver"
[[ -r "$kernel" ]] || skip "$kernel is not readable by $(id -un) (run as root or chmod a+r it)"
[[ "$(modinfo -k "$kver" -F filename rdma_rxe 2>/dev/null)" != "" ]] ||
  skip "kernel $kver has no rdma_rxe module (Debian package linux-image-amd64 ships it)"

# A static busybox (the dynamic one cannot run in the initramfs, which has no libc).
busybox=""
for b in ${HPCLESS_BUSYBOX:-} /bin/busybox /usr/bin/busybox; do
  [[ -x "$b" ]] || continue
  if [[ "$(LC_ALL=C ldd "$b" 2>&1 || true)" =~ not\ a\ dynamic\ executable|statically\ linked ]]; then
    busybox="$b"
    break
  fi
done
[[ -n "$busybox" ]] || skip "no static busybox at /bin/busybox (Debian package busybox-static)"

# --- initramfs: busybox + the 9p/overlay modules, cached per kernel and script version -----------

# Modules in dependency order (depth-first, dependencies first), from modinfo.
declare -A mod_seen=()
mod_names=() mod_files=()
add_module() {
  local m="${1//-/_}" file deps dep
  [[ -z "${mod_seen[$m]:-}" ]] || return 0
  mod_seen[$m]=1
  file="$(modinfo -k "$kver" -F filename "$m" 2>/dev/null)" ||
    skip "kernel $kver lacks module $m (needed for the 9p root; Debian package linux-image-amd64)"
  [[ "$file" != "(builtin)" && -n "$file" ]] || return 0
  deps="$(modinfo -k "$kver" -F depends "$m")"
  local -a dep_list=()
  IFS=, read -r -a dep_list <<<"$deps"
  for dep in "${dep_list[@]}"; do
    [[ -z "$dep" ]] || add_module "$dep"
  done
  mod_names+=("$m")
  mod_files+=("$file")
}
for m in virtio_pci 9pnet_virtio 9p overlay; do
  add_module "$m"
done

# Stage 1: the initramfs's /init (busybox sh). Mounts the host root read-only with a tmpfs
# overlay, puts a tmpfs on /run with the per-run share (stage 2) in it, and switches root.
# cache=loose on the read-only root halves the boot (every exec and library lookup otherwise goes
# to the host); the price: host changes to files the guest has already read are not seen.
stage1="$(cat <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /bin /dev /proc /sys
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
fail() {
  echo "RDMA-VM GUEST SETUP FAILED: $*"
  echo o > /proc/sysrq-trigger
  sleep 60
}
for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || fail "insmod $m"
done
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || fail "9p root"
mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir /rw/upper /rw/work || fail "tmpfs"
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  fail "overlay"
mount -t tmpfs -o mode=0755 tmpfs /newroot/run && mkdir -p /newroot/run/hpcless-vm || fail "/run"
mount -t 9p -o trans=virtio,version=9p2000.L,ro hpclessrun /newroot/run/hpcless-vm ||
  fail "run share"
umount /proc
mount -o move /dev /newroot/dev || fail "move /dev"
exec switch_root /newroot /bin/bash /run/hpcless-vm/stage2.sh
fail "switch_root"
EOF
)"

cache="${HPCLESS_RDMA_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hpcless-rdma-vm}"
key="$({
  cat "$self"
  echo "$kver $busybox"
  stat -L -c '%n %s %Y' "$kernel" "$busybox" "${mod_files[@]}"
} | sha256sum | cut -c1-16)"
initrd="$cache/initramfs-$kver-$key.cpio"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/hpcless-rdma-vm.XXXXXX")"
qpid="" teepid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [[ -z "$qpid" ]] || kill "$qpid" 2>/dev/null || true
  [[ -z "$teepid" ]] || kill "$teepid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "run-in-vm: interrupted" >&2; exit 130' INT TERM

build_initramfs() {
  local out="$1" root="$tmp/initramfs" i f
  mkdir -p "$root/bin" "$root/modules"
  cp "$busybox" "$root/bin/busybox"
  for i in "${!mod_names[@]}"; do
    f="${mod_files[$i]}"
    case "$f" in
      *.ko) cp "$f" "$root/modules/${mod_names[$i]}.ko" ;;
      *.ko.xz) xz -dc "$f" >"$root/modules/${mod_names[$i]}.ko" ||
        skip "cannot decompress $f (Debian package xz-utils)" ;;
      *.ko.zst) zstd -qdc "$f" >"$root/modules/${mod_names[$i]}.ko" ||
        skip "cannot decompress $f (Debian package zstd)" ;;
      *.ko.gz) gzip -dc "$f" >"$root/modules/${mod_names[$i]}.ko" ;;
      *) die "unknown module file type: $f" ;;
    esac
    echo "${mod_names[$i]}" >>"$root/modules/order"
  done
  printf '%s\n' "$stage1" >"$root/init"
  chmod 0755 "$root/init" "$root/bin/busybox"
  (cd "$root" && find . -mindepth 1 | "$busybox" cpio -o -H newc 2>/dev/null) >"$out"
}

if [[ ! -s "$initrd" ]]; then
  if mkdir -p "$cache" 2>/dev/null && [[ -w "$cache" ]]; then
    build_initramfs "$tmp/initramfs.cpio"
    mv -f "$tmp/initramfs.cpio" "$initrd.$$" && mv -f "$initrd.$$" "$initrd"
    # Initramfs files of older script or kernel versions (an hour old: not in use by a run).
    find "$cache" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "${initrd##*/}" -mmin +60 \
      -delete 2>/dev/null || true
  else
    initrd="$tmp/initramfs.cpio"
    build_initramfs "$initrd"
  fi
fi

# --- stage 2: the per-run script, run by the guest's host-root bash as PID 1 --------------------

cwd="$(pwd -P)"
if [[ -n "$results" ]]; then
  mkdir -p "$results"
  results="$(cd "$results" && pwd -P)"
fi
# COMMAND is stopped at this deadline (host epoch seconds; the guest's clock starts from the
# host's through the emulated RTC), a margin before QEMU is killed, so that the guest can report.
margin=10
((timeout_s > 3 * margin)) || margin=$((timeout_s / 3))
deadline=$(($(date +%s) + timeout_s - margin))

mkdir -p "$tmp/run"
{
  echo '#!/bin/bash'
  echo '# Stage 2 of run-in-vm.sh (generated): mounts, soft-RoCE set-up, the command, RESULT.'
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  echo 'export HOME=/root LANG=C.UTF-8 TERM=dumb'
  # Forwarded host variables first, so that the VM's own settings below win.
  while IFS= read -r name; do
    case "$name" in
      HPCLESS_* | GTEST_*) printf 'export %s=%q\n' "$name" "${!name}" ;;
    esac
  done < <(compgen -e)
  printf 'results=%q cwd=%q deadline=%q timeout_s=%q\n' "$results" "$cwd" "$deadline" "$timeout_s"
  printf 'cmd=('
  printf '%q ' "$@"
  printf ')\n'
  cat <<'EOF'
fail() {
  echo "RDMA-VM GUEST SETUP FAILED: $*"
  echo o >/proc/sysrq-trigger
  sleep 60
}
stty -onlcr 2>/dev/null || true # plain \n on the console
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts || fail "mount /dev/pts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "mount /dev/shm"
# /tmp: the overlay's (host /tmp visible, writes stay in guest memory), not a fresh tmpfs, so
# that build trees, results and working directories under /tmp stay reachable.
if [[ -n "$results" ]]; then
  mkdir -p "$results" &&
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 hpclessresults "$results" ||
    fail "mount results share at $results"
fi
modprobe -a rdma_rxe rdma_ucm ib_uverbs || fail "modprobe rdma_rxe rdma_ucm ib_uverbs"
ip link set lo up || fail "lo up"
ip link add veth0 type veth peer name veth1 || fail "veth pair"
ip addr add 198.18.0.1/24 dev veth0 && ip addr add 198.18.0.2/24 dev veth1 || fail "addresses"
# MTU 9000: rxe's active MTU becomes 4096, as on InfiniBand fabrics (1024 at the default 1500);
# 64 KiB messages then take 16 packets instead of 64, about 1.5x faster under emulation.
ip link set veth0 mtu 9000 && ip link set veth1 mtu 9000 || fail "veth mtu"
ip link set veth0 up && ip link set veth1 up || fail "veth up"
rdma link add rxe0 type rxe netdev veth0 || fail "rdma link add rxe0"
ulimit -l unlimited || fail "ulimit -l"
export HPCLESS_RDMA_ADDRESS=198.18.0.1 HPCLESS_RDMA_DEVICE=rxe0 HPCLESS_IN_RDMA_VM=1
cd "$cwd" || fail "cd $cwd"
printf "\nrun-in-vm: guest ready after %s s of guest uptime\n" "$(cut -d" " -f1 /proc/uptime)"
inner_s=$((deadline - $(date +%s)))
((inner_s <= timeout_s)) || inner_s=$timeout_s # guest clock far off: at least bounded
((inner_s > 0)) || inner_s=1
timeout -k 5 "$inner_s" "${cmd[@]}" </dev/null
rc=$?
[[ $rc -ne 124 ]] || echo "RDMA-VM: command timed out in the guest after $inner_s s"
printf '\nRESULT rc=%d\n' "$rc"
sync
[[ -z "$results" ]] || umount "$results"
echo o >/proc/sysrq-trigger
sleep 60
EOF
} >"$tmp/run/stage2.sh"

# --- boot ----------------------------------------------------------------------------------------

# QEMU option values escape a comma as ',,'.
qemu=(qemu-system-x86_64 -accel "tcg,thread=multi" -cpu max -smp "$cpus" -m "$mem"
  -nographic -no-reboot -nic none
  -kernel "$kernel" -initrd "$initrd"
  -append "console=ttyS0 tsc=reliable clocksource=tsc panic=-1 quiet"
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=${tmp//,/,,}/run,mount_tag=hpclessrun,security_model=none,readonly=on")
if [[ -n "$results" ]]; then
  qemu+=(-virtfs "local,path=${results//,/,,},mount_tag=hpclessresults,security_model=none")
fi

echo "run-in-vm: kernel $kver, $cpus vCPU, $mem MB, timeout $timeout_s s: $*"
mkfifo "$tmp/console"
# SeaBIOS's terminal resets (ESC c, ESC [2J) would clear the user's terminal: dropped.
sed -u -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' <"$tmp/console" | tee "$tmp/console.log" &
teepid=$!
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$tmp/console" 2>&1 &
qpid=$!
qrc=0
wait "$qpid" || qrc=$?
qpid=""
wait "$teepid" || true
teepid=""

rc="$(tr -d '\r' <"$tmp/console.log" | grep -aE '^RESULT rc=[0-9]+$' | tail -n 1 | cut -d= -f2)" || true
if [[ -n "$rc" ]]; then
  exit "$rc"
fi
why="$(tr -d '\r' <"$tmp/console.log" | grep -aoE 'RDMA-VM GUEST SETUP FAILED: .*|Kernel panic.*' |
  tail -n 1)" || true
if [[ "$qrc" -eq 124 || "$qrc" -eq 137 ]]; then
  why="timed out after $timeout_s s${why:+ ($why)}"
fi
echo "run-in-vm: FAILED: no RESULT line from the guest: ${why:-QEMU exited with status $qrc}" >&2
exit 1
