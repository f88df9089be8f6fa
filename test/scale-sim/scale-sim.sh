#!/bin/bash
# Scale simulation of the kexec deployment (g5k-ramdisk, g5k-nfs-store): N light "machines" on
# one bridge, for frontends talking to 100 nodes on a 2-core machine where the QEMU stand-in
# (test/g5k-sim) fits 3. Each machine is a network namespace with its own mount and UTS
# namespaces, a dropbear sshd (root login by the harness's key: the job's key on Grid'5000) in a
# "standard environment", and a `kexec` stand-in on its PATH (see README.md for what is real and
# what is simulated). The frontend is a namespace of its own with one veth to the bridge: its
# counters are the bytes the frontend sends, whatever the distribution.
#
#   scale-sim.sh up N [--fault m-K=KIND]... [--netcat m-K=NC]...
#                                             KIND: unreachable | push-cut | push-stall | no-boot
#                                             NC: the machine's `nc`: busybox (the applet) | openbsd
#                                             (/bin/nc.openbsd) | traditional (/bin/nc.traditional)
#   scale-sim.sh down                         kill every process of the namespaces, delete them
#   scale-sim.sh fe CMD...                    run CMD in the frontend namespace (names resolve)
#   scale-sim.sh in m-K CMD...                run CMD inside machine m-K (its namespaces)
#   scale-sim.sh tx                           bytes the frontend has sent on its link
#   scale-sim.sh env                          settings as KEY=VALUE lines
#   scale-sim.sh status                       machines and what runs
#
# Written outside $SCALESIM_STATE: /etc/netns/$SCALESIM_PREFIX-fe/hosts (the frontend's names),
# removed by down. Machine m-K has address $SCALESIM_NET.(K+9 split over two octets).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SCALESIM_STATE:=/var/tmp/nxc-scale-sim}"   # keys, per-machine dirs, logs (not under /tmp: machines mount their own /tmp)
: "${SCALESIM_PREFIX:=nxs}"                      # namespaces: PREFIX-hub, PREFIX-fe, PREFIX-m-K
: "${SCALESIM_NET:=10.78}"                       # /16; the frontend is .0.1
: "${SCALESIM_BOOT_S:=2}"                        # simulated boot time after kexec -e
: "${SCALESIM_DROPBEAR_WINDOW:=2097152}"         # dropbear's receive window (its 24 KiB default throttles pushes)
: "${SCALESIM_NETCAT:=busybox}"                  # the machines' `nc` (--netcat overrides one); mixed: busybox, openbsd, traditional in turn
P=$SCALESIM_PREFIX S=$SCALESIM_STATE
HUB=$P-hub FE=$P-fe FE_IP=$SCALESIM_NET.0.1
log() { echo "[scale-sim $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
mname() { printf 'm-%03d' "$1"; }
mip() { local i=$(($1 + 9)); echo "$SCALESIM_NET.$((i / 256)).$((i % 256))"; }

cmd_env() {
  echo "SCALESIM_STATE=$S"
  echo "SCALESIM_PREFIX=$P"
  echo "SCALESIM_FE_NS=$FE"
  echo "SCALESIM_FE_IP=$FE_IP"
  echo "SCALESIM_ROOT_KEY=$S/keys/root"
  echo "SCALESIM_KNOWN_HOSTS=$S/ssh_known_hosts"
  echo "SCALESIM_MACHINE_FILE=$S/machines.txt"
}

our_namespaces() { ip netns list | awk '{print $1}' | grep -E "^$P-(hub|fe|m-[0-9]+)$" || true; }

cmd_down() {
  local ns pids
  for ns in $(our_namespaces); do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  done
  for ns in $(our_namespaces); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ] && break
      sleep 0.2
    done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "/etc/netns/$FE"
  [ -n "${SCALESIM_KEEP:-}" ] || rm -rf "$S"
  [ -z "$(our_namespaces)" ] || die "namespaces left: $(our_namespaces | tr '\n' ' ')"
}

cmd_up() {
  local n=${1:-}; shift || true
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 60000 ] || die "up N: N machines (1..60000), got '$n'"
  declare -A fault=() netcat=()
  while [ $# -gt 0 ]; do
    case $1 in
      --fault)
        [[ "${2:-}" =~ ^(m-[0-9]+)=(unreachable|push-cut|push-stall|no-boot)$ ]] || die "--fault m-K=unreachable|push-cut|push-stall|no-boot, got '${2:-}'"
        fault[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; shift 2 ;;
      --netcat)
        [[ "${2:-}" =~ ^(m-[0-9]+)=(busybox|openbsd|traditional)$ ]] || die "--netcat m-K=busybox|openbsd|traditional, got '${2:-}'"
        netcat[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; shift 2 ;;
      *) die "unknown argument $1" ;;
    esac
  done
  [[ "$SCALESIM_NETCAT" =~ ^(busybox|openbsd|traditional|mixed)$ ]] || die "SCALESIM_NETCAT=busybox|openbsd|traditional|mixed, got '$SCALESIM_NETCAT'"
  local kinds=(busybox openbsd traditional) nc
  for nc in /bin/nc.openbsd /bin/nc.traditional; do
    [ -x "$nc" ] || die "$nc is missing (apt-get install netcat-openbsd netcat-traditional; scripts/setup.sh does)"
  done
  command -v dropbear >/dev/null && command -v dropbearkey >/dev/null || die "dropbear is not installed (apt-get install dropbear-bin)"
  [ -x /usr/lib/sftp-server ] || die "/usr/lib/sftp-server (openssh-sftp-server) is missing: dropbear serves SFTP with it"
  [ -z "$(our_namespaces)" ] || die "a simulation is up already ($P-*): run \`$0 down\` first"
  rm -rf "$S"; mkdir -p "$S/keys" "$S/machines"
  ssh-keygen -q -t ed25519 -N '' -C scale-sim-root -f "$S/keys/root"
  # network: a hub namespace holding the bridge; the frontend and every machine on a veth
  ip netns add "$HUB"
  ip -n "$HUB" link add br0 type bridge
  ip -n "$HUB" link set br0 up
  ip netns add "$FE"
  ip link add fe0 netns "$FE" type veth peer name fe netns "$HUB"
  ip -n "$HUB" link set fe master br0 up
  ip netns exec "$FE" sh -c "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"
  ip -n "$FE" addr add "$FE_IP/16" dev fe0
  ip -n "$FE" link set lo up
  ip -n "$FE" link set fe0 up
  mkdir -p "/etc/netns/$FE"
  { echo "127.0.0.1 localhost"; echo "$FE_IP frontend"; } > "/etc/netns/$FE/hosts"
  : > "$S/machines.txt"; : > "$S/ssh_known_hosts"
  local k name ip m
  for k in $(seq 1 "$n"); do
    name=$(mname "$k") ip=$(mip "$k") m=$S/machines/$name
    mkdir -p "$m/root/.ssh" "$m/tmp" "$m/keys"
    chmod 700 "$m/root" "$m/root/.ssh"; chmod 1777 "$m/tmp"
    cp "$S/keys/root.pub" "$m/root/.ssh/authorized_keys"
    echo "127.0.0.1 localhost" > "$m/etc-hosts"
    echo "$name" > "$m/name"; echo "$ip" > "$m/address"; echo "${fault[$name]:-}" > "$m/fault"
    nc=$SCALESIM_NETCAT; [ "$nc" = mixed ] && nc=${kinds[$(((k - 1) % 3))]}
    echo "${netcat[$name]:-$nc}" > "$m/netcat"
    cat /proc/sys/kernel/random/uuid > "$m/boot_id"
    dropbearkey -t ed25519 -f "$m/keys/std_host_key" >/dev/null 2>&1
    echo "$name,$ip $(dropbearkey -y -f "$m/keys/std_host_key" | awk '/^ssh-/ {print $1, $2}')" >> "$S/ssh_known_hosts"
    echo "$name" >> "$S/machines.txt"
    echo "$ip $name" >> "/etc/netns/$FE/hosts"
    ip netns add "$P-$name"
    ip link add "v$k" netns "$HUB" type veth peer name eth0 netns "$P-$name"
    ip -n "$HUB" link set "v$k" master br0 up
    if [ "${fault[$name]:-}" = unreachable ]; then
      log "$name ($ip): powered off (injected fault)"
      continue
    fi
    # the machine: its own mount + UTS namespaces, run by machine.sh (the "standard environment")
    SCALESIM_NODE=$(command -v node) SCALESIM_STATE=$S SCALESIM_NAME=$name SCALESIM_BOOT_S=$SCALESIM_BOOT_S SCALESIM_DROPBEAR_WINDOW=$SCALESIM_DROPBEAR_WINDOW \
      setsid ip netns exec "$P-$name" unshare --mount --uts --pid --fork --propagation private \
      /bin/sh "$HERE/machine.sh" </dev/null >>"$m/console" 2>&1 &
    echo $! > "$m/unshare.pid"
  done
  [ "${#fault[@]}" -eq 0 ] || for name in "${!fault[@]}"; do [ -d "$S/machines/$name" ] || die "--fault $name: no such machine (m-001..$(mname "$n"))"; done
  [ "${#netcat[@]}" -eq 0 ] || for name in "${!netcat[@]}"; do [ -d "$S/machines/$name" ] || die "--netcat $name: no such machine (m-001..$(mname "$n"))"; done
  # every machine not powered off answers SSH
  local deadline=$((SECONDS + 60 + n / 2)) waiting
  while :; do
    waiting=0
    for k in $(seq 1 "$n"); do
      name=$(mname "$k")
      [ "$(cat "$S/machines/$name/fault")" = unreachable ] && continue
      grep -q '^STD_UP' "$S/machines/$name/console" 2>/dev/null || { waiting=$((waiting + 1)); }
      grep -q '^SIM_ERROR' "$S/machines/$name/console" 2>/dev/null && die "$name: $(grep '^SIM_ERROR' "$S/machines/$name/console" | head -1)"
    done
    [ "$waiting" -eq 0 ] && break
    [ $SECONDS -lt $deadline ] || die "$waiting machine(s) did not start their sshd (see $S/machines/*/console)"
    sleep 0.5
  done
  log "$n machine(s) up ($((${#fault[@]})) with injected faults), frontend $FE_IP in namespace $FE"
}

cmd_in() {
  local name=${1:?machine}; shift
  local pid
  pid=$(cat "$S/machines/$name/unshare.pid" 2>/dev/null) || die "$name is not running"
  # the machine's init (PID 1 of its namespace) is the only child of unshare
  pid=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null | awk '{print $1}')
  [ -n "$pid" ] || die "$name is not running"
  nsenter -t "$pid" -n -m -u -p "$@"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  fe) shift; ip netns exec "$FE" "$@" ;;
  in) shift; cmd_in "$@" ;;
  tx) ip netns exec "$FE" cat /sys/class/net/fe0/statistics/tx_bytes ;;
  env) cmd_env ;;
  status)
    for ns in $(our_namespaces); do echo "$ns: $(ip netns pids "$ns" | wc -l) process(es)"; done ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
