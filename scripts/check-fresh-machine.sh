#!/usr/bin/env bash
# Runs the README's two commands on a fresh Debian machine: a minimal Debian root made by
# debootstrap from the apt mirror this machine uses, holding nothing from this machine but a
# clone of the commit under test and this network's settings (what a fresh machine on this
# network would be given: /etc/resolv.conf, the extra CA certificates in
# /usr/local/share/ca-certificates, and the proxy / NODE_EXTRA_CA_CERTS environment variables
# when they are set here). Inside it, as root in a "new machine" of its own (mount, PID and network
# namespaces; the network reaches out through a NAT'ed veth, so its dockerd is separate from
# this machine's):
#
#   cd nxc && scripts/setup.sh && pnpm demo
#   cd nxc && scripts/setup.sh && pnpm test
#
# Each step is reported with its time; the exit status is non-zero when any fails. Everything
# it made goes away at the end (namespaces and their mounts and processes, the veth, the NAT
# rules, the root) unless --keep; the full log stays next to where the root was.
#
#   scripts/check-fresh-machine.sh [--commit REV] [--only demo|test] [--keep]
#
# Needs root, debootstrap (installed with apt when missing), unshare, nsenter, iptables. Slow
# (the whole test suite runs inside): run it under `flock /tmp/nxc-e2e.lock` on shared machines.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# --- inside the namespaces ----------------------------------------------------------------------
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# The README commands, run by the root's own bash once the root is the namespace's `/`: the
# user's shell on the fresh machine (root, a clean login environment, in the clone).
# shellcheck disable=SC2016 # expanded by that bash
STEPS='
umount -l /.oldroot && rmdir /.oldroot
only=$1 network_env=$2 status=0
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" "BEGIN { printf \"%.1f\", (b - a) / 1e9 }"; }
for step in "scripts/setup.sh" "pnpm demo" "scripts/setup.sh" "pnpm test"; do
  case "$only:$step" in demo:"pnpm test" | test:"pnpm demo") continue ;; esac
  echo "@@step-start $step"
  started=$(date +%s%N)
  if timeout 5400 env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin $network_env \
    /bin/bash -c "cd /root/nxc && $step" 2>&1; then rc=0; else rc=$?; fi
  echo "@@step-end $rc $(seconds_since "$started") $step"
  if [ "$rc" != 0 ]; then status=1; break; fi
done
exit $status
'

if [ "${1:-}" = --inner ]; then
  root=$2
  only=$3
  network_env=$4
  # A machine's / is a mount point and the root of its mount namespace (Nix's sandbox makes
  # / private; Nix runs git after setns() into its mount namespace, which leaves a chroot):
  # so the root is bind-mounted onto itself, given /proc, /sys, /dev, /run, and pivoted to.
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  for _ in $(seq 1 300); do [ -e "$root/.nxc-check-net" ] && break; sleep 0.1; done
  [ -e "$root/.nxc-check-net" ] || { echo "check: the network was not set up" >&2; exit 1; }
  cd "$root"
  mkdir -p .oldroot
  pivot_root . .oldroot
  exec /bin/bash -c "$STEPS" steps "$only" "$network_env"
fi

# --- on this machine ---------------------------------------------------------------------------
commit=HEAD only="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --commit) commit=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-fresh-machine: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $only in "" | demo | test) ;; *) echo "check-fresh-machine: --only takes demo or test" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "check-fresh-machine: run it as root (debootstrap, namespaces, chroot)" >&2; exit 3; }
for tool in unshare nsenter iptables ip git awk; do
  command -v "$tool" >/dev/null || { echo "check-fresh-machine: $tool is missing on this machine" >&2; exit 3; }
done
sha=$(git -C "$REPO" rev-parse --verify "$commit^{commit}") || { echo "check-fresh-machine: no commit $commit in $REPO" >&2; exit 2; }

suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null | sort -u)
mirror=$(awk -v s="$suite" '$2 == s { print $1; exit }' <<<"$targets")
[ -n "$mirror" ] || { echo "check-fresh-machine: apt on this machine has no source for $suite" >&2; exit 3; }

root=$(mktemp -d /var/tmp/nxc-fresh-machine.XXXXXX)
chmod 0755 "$root" # a machine's /: Nix's build users and nobody must traverse it
log=$root.log
: >"$log"
net=10.231.$((RANDOM % 250)).0
veth=nxcfm$$
upid=""
rules=()

say() { echo "check: $*"; }
cleanup() {
  local rc=$?
  if [ -n "$upid" ] && kill -0 "$upid" 2>/dev/null; then
    # the namespaces' first process: killing it ends every process in them (dockerd, VMs...)
    pkill -KILL -P "$upid" 2>/dev/null || true
    wait "$upid" 2>/dev/null || true
  fi
  for rule in "${rules[@]}"; do eval "iptables ${rule}" 2>/dev/null || true; done
  ip link del "${veth}h" 2>/dev/null || true
  if [ "$keep" = 1 ]; then say "kept the root: $root"; else rm -rf --one-file-system "$root"; fi
  say "log: $log"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

results=()
step() { # name command...
  local name=$1 started rc
  shift
  started=$(date +%s%N)
  if "$@" >>"$log" 2>&1; then rc=0; else rc=$?; fi
  record "$name" "$rc" "$(seconds_since "$started")"
  return "$rc"
}
record() { # name rc seconds
  local line
  line=$(printf '%-52s %8.1f s  %s' "$1" "$3" "$([ "$2" = 0 ] && echo ok || echo "FAILED (exit $2)")")
  results+=("$line")
  echo "$line"
}
summary() {
  echo
  say "summary (commit ${sha:0:12}, $suite from $mirror):"
  printf '  %s\n' "${results[@]}"
}
fail_tail() {
  echo "---- last lines of $log" >&2
  tail -n 40 "$log" >&2
}

say "commit ${sha:0:12} of $REPO (uncommitted changes are not part of it), Debian $suite from $mirror"
say "root $root, log $log"
total_started=$(date +%s%N)

if ! command -v debootstrap >/dev/null; then
  step "apt-get install debootstrap (on this machine)" apt-get install -y -qq debootstrap || { fail_tail; exit 1; }
fi
# debootstrap mounts /proc and /sys in the root: keep them out of this machine's mount table
step "debootstrap --variant=minbase $suite" \
  unshare -m --propagation private debootstrap --variant=minbase "$suite" "$root" "$mirror" || { fail_tail; summary; exit 1; }

configure_root() {
  # the apt sources a Debian installer writes: the release, its updates and security
  awk -v s="$suite" '$2 == s || $2 == s "-updates" || $2 == s "-security" { print "deb " $1 " " $2 " main" }' \
    <<<"$targets" >"$root/etc/apt/sources.list"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # this network's TLS trust anchors (an intercepting proxy's CA): ca-certificates, which
  # setup.sh installs, adds them to the root's bundle
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  grep -q localhost "$root/etc/hosts" 2>/dev/null || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  git clone -q --no-hardlinks "$REPO" "$root/root/nxc"
  git -C "$root/root/nxc" checkout -q --detach "$sha"
  git -C "$root/root/nxc" remote remove origin
  # CI gives the clone the shared reference data beside it (../shared: nixpkgs' lib for the
  # NixOS evaluation tests); a fresh machine of CI's kind has it too
  if [ -d "$REPO/../shared" ]; then cp -a "$REPO/../shared" "$root/root/shared"; fi
}
step "apt sources, resolv.conf, git clone ${sha:0:12}" configure_root || { fail_tail; summary; exit 1; }

network_env=""
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY NODE_EXTRA_CA_CERTS; do
  [ -n "${!var:-}" ] && network_env+=" $var=${!var}"
done
[ -z "$network_env" ] || say "network environment passed in:$network_env"

# The new machine: its own mounts, processes and network.
unshare -m -p -f -n --propagation private -- "$0" --inner "$root" "$only" "$network_env" \
  > >(while IFS= read -r line; do
    case $line in
      "@@step-start "*) echo "${line#@@step-start }" >"$root.current" ;;
      "@@step-end "*) read -r rc secs name <<<"${line#@@step-end }"; echo "$name|$rc|$secs" >>"$root.steps" ;;
      *) echo "$line" >>"$log"
         case $line in setup:* | "setup.sh:"*) echo "  $line" ;; esac ;;
    esac
  done) 2>&1 &
upid=$!

network() {
  # unshare(1) makes the namespace after it starts: on a busy machine that takes a while
  for _ in $(seq 1 100); do
    [ "$(readlink "/proc/$upid/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.1
  done
  [ "$(readlink "/proc/$upid/ns/net")" != "$(readlink /proc/self/ns/net)" ] || { echo "no new network namespace"; return 1; }
  ip link add "${veth}h" type veth peer name "${veth}c" netns "$upid"
  ip addr add "${net%.0}.1/30" dev "${veth}h"
  ip link set "${veth}h" up
  nsenter -t "$upid" -n sh -c "ip link set lo up && ip addr add ${net%.0}.2/30 dev ${veth}c && ip link set ${veth}c up && ip route add default via ${net%.0}.1"
  # how to remove each rule again (cleanup)
  rules=("-t nat -D POSTROUTING -s $net/30 ! -o ${veth}h -j MASQUERADE"
    "-D FORWARD -i ${veth}h -j ACCEPT"
    "-D FORWARD -o ${veth}h -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
  iptables -t nat -A POSTROUTING -s "$net/30" ! -o "${veth}h" -j MASQUERADE
  iptables -I FORWARD 1 -i "${veth}h" -j ACCEPT
  iptables -I FORWARD 1 -o "${veth}h" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  touch "$root/.nxc-check-net"
}
step "network namespace, veth + NAT ($net/30)" network || { fail_tail; summary; exit 1; }

status=0
wait "$upid" || status=$?
upid=""
sleep 0.2 # the reader of the steps' output finishes
while IFS='|' read -r name rc secs; do
  record "in the root: $name" "$rc" "$secs"
done <"$root.steps"
if [ -e "$root.current" ] && ! grep -q "^$(cat "$root.current")|" "$root.steps"; then
  record "in the root: $(cat "$root.current") (did not finish)" 1 0
  status=1
fi
rm -f "$root.current" "$root.steps"
[ "$status" = 0 ] || fail_tail
record "total" "$status" "$(seconds_since "$total_started")"
summary
exit "$status"
