#!/bin/sh
# One simulated machine of scale-sim.sh, run in its own network, mount, UTS and PID namespaces: its
# "firmware + init". Boots the standard environment (dropbear with the machine's own host key,
# root authorizes the harness's key), then on every `kexec -e` (the stand-in signals USR1)
# "reboots": kills every process of the machine, waits the boot time, and boots what was
# loaded with boot.mjs (deployment from deploy=, the host key from the initrd, ready flag),
# restarting dropbear with the deployed system's identity.
# Console lines: STD_UP, REBOOT, UP <host>, SIM_ERROR <why> (scale-sim.sh and the harness read them).
set -eu
S=$SCALESIM_STATE NAME=$SCALESIM_NAME
M=$S/machines/$NAME
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ADDR=$(cat "$M/address")
FAULT=$(cat "$M/fault")
err() { echo "SIM_ERROR $*"; exit 1; }
[ $$ = 1 ] || err "machine.sh runs as PID 1 of its own PID namespace (unshare --pid --fork)"

# --- the machine's own filesystem view (private mount namespace)
mount -t proc proc /proc || err "cannot mount /proc"
mount -t tmpfs -o mode=755,size=8m tmpfs /run || err "cannot mount /run"
mkdir -p /run/sim /run/nxc-sim-bin
mount --bind "$M/root" /root
mount --bind "$M/tmp" /tmp
mount --bind "$M/etc-hosts" /etc/hosts
# a Grid'5000 machine does not see the frontend's Nix store: without this, every machine would
# read kernel + initrd from /nix/store as from a shared home (0 bytes sent, nothing measured)
if [ -d /nix ]; then mount -t tmpfs -o mode=755,size=1m tmpfs /nix || err "cannot hide /nix"; fi
# its own boot id: the kexec engine recognises a new boot by it
mount --bind "$M/boot_id" /proc/sys/kernel/random/boot_id || err "cannot bind a boot id over /proc/sys/kernel/random/boot_id"
# the kexec stand-in, first on every PATH the sessions and the frontend use (/usr/sbin = /sbin);
# a real kexec must never run here: it would reboot the host
printf '#!/bin/sh\n# NXC_SCALE_SIM_KEXEC: the stand-in of test/scale-sim (kexec.mjs)\nSCALESIM_MACHINE_DIR=%s exec %s %s "$@"\n' \
  "$M" "$SCALESIM_NODE" "$HERE/kexec.mjs" > /run/nxc-sim-bin/kexec
chmod 755 /run/nxc-sim-bin/kexec
# the standard environment's netcat (scale-sim.sh up --netcat), in the same place: before the
# host's /usr/bin/nc on root's PATH (dropbear's: /usr/local/sbin:/usr/local/bin:/usr/sbin:...)
NC=$(cat "$M/netcat")
case $NC in
  busybox) NC_BIN=$(command -v busybox) ;;
  openbsd) NC_BIN=/bin/nc.openbsd ;;
  traditional) NC_BIN=/bin/nc.traditional ;;
  *) err "unknown netcat '$NC' in $M/netcat" ;;
esac
[ -x "$NC_BIN" ] || err "the $NC netcat ($NC_BIN) is not installed"
ln -s "$NC_BIN" /run/nxc-sim-bin/nc
mount -t overlay overlay -o "lowerdir=/run/nxc-sim-bin:/usr/sbin" /usr/sbin || err "cannot overlay the kexec stand-in on /usr/sbin"
[ "$(readlink /usr/sbin/nc)" = "$NC_BIN" ] || err "/usr/sbin/nc is not the $NC netcat"
for d in /usr/local/sbin /usr/local/bin; do [ ! -e "$d/nc" ] || err "$d/nc would be found before the $NC netcat"; done
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin /run/current-system/sw/bin; do
  if [ -x "$d/kexec" ]; then
    grep -q NXC_SCALE_SIM_KEXEC "$d/kexec" 2>/dev/null || err "$d/kexec is not the stand-in: refusing to run"
    break
  fi
done
hostname "$NAME"

# --- network (the standard environment's static address)
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
ip link set lo up
ip addr add "$ADDR/16" dev eth0
ip link set eth0 up

DPID=
start_sshd() { # host key file
  dropbear -F -E -s -m -W "$SCALESIM_DROPBEAR_WINDOW" -r "$1" -p 22 -P /run/sim/dropbear.pid \
    >>"$M/sshd.log" 2>&1 </dev/null &
  DPID=$!
  # listening? (the frontend's first probe must not race the bind)
  i=0
  while [ $i -lt 50 ] && ! grep -q ":0016 00000000:0000 0A" /proc/net/tcp 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}

# every process of this machine but this one (its init: PID 1 of the machine's PID namespace)
kill_machine() { kill -9 -1 2>/dev/null || true; }

REBOOT=0
trap 'REBOOT=1' USR1
trap 'kill_machine; exit 0' TERM INT

# a push cut: once an upload passed 4 MB the machine's sshd and sessions die (the connection is
# closed under the frontend); push-stall: its link goes dead instead (no FIN, no RST)
if [ "$FAULT" = push-cut ] || [ "$FAULT" = push-stall ]; then
  (
    while :; do
      for f in /tmp/nxc-kexec/*.part-*; do
        [ -f "$f" ] || continue
        if [ "$(stat -c %s "$f")" -gt 4000000 ]; then
          echo "FAULT $FAULT during the upload of $f"
          [ "$FAULT" = push-stall ] && ip link set eth0 down
          kill -9 -1 2>/dev/null || true   # every process but init and this one: sshd, sessions
          sleep 1; ip link set eth0 down    # then off the network for good
          exit 0
        fi
      done
      sleep 0.2
    done
  ) &
fi

start_sshd "$M/keys/std_host_key"
echo "STD_UP $NAME $ADDR"

while :; do
  # wait returns early on USR1; loop until then (the sshd may also die: a cut link)
  wait "$DPID" 2>/dev/null || true
  [ "$REBOOT" = 1 ] || { sleep 1; continue; }
  REBOOT=0
  echo "REBOOT $(head -c 300 /run/sim/loaded.json 2>/dev/null)"
  kill_machine
  [ "$FAULT" = no-boot ] && { echo "FAULT no-boot: the machine never comes back"; while :; do sleep 3600 & wait $! || true; done; }
  sleep "$SCALESIM_BOOT_S"
  # the kexec'd ramdisk system: fresh /tmp, a fresh root (what nxc-boot.sh writes), a new boot id
  find /tmp -mindepth 1 -delete 2>/dev/null || true
  umount /root /etc/hosts /run/nxc 2>/dev/null || true
  rm -rf "$M/sys"; mkdir -p "$M/sys/root" "$M/sys/etc" "$M/sys/run/nxc" /run/nxc
  cat /proc/sys/kernel/random/uuid > "$M/boot_id"
  # the product's node boot script, as the deployed system's stage 1 runs it (files under a prefix)
  if NXC_ROOT="$M/sys" NXC_CMDLINE=/run/sim/cmdline NXC_ADDRESSES="$ADDR" NXC_HOSTNAME="$NAME" NXC_FETCH_RETRIES=30 \
      sh "$REPO/nix/boot/nxc-boot.sh" --setup-only && host=$(jq -r '.host // empty' "$M/sys/etc/nxc/node.json") && [ -n "$host" ]; then
    mount --bind "$M/sys/root" /root
    [ -f "$M/sys/etc/hosts" ] && mount --bind "$M/sys/etc/hosts" /etc/hosts
    mount --bind "$M/sys/run/nxc" /run/nxc
    hostname "$host"
    # stage 1 installs the host key nxc appended to the initrd; a system without one makes its own
    if [ -f /run/sim/initrd/nxc/dropbear_ed25519_host_key ]; then
      cp /run/sim/initrd/nxc/dropbear_ed25519_host_key /run/sim/deployed_host_key
    else
      rm -f /run/sim/deployed_host_key; dropbearkey -t ed25519 -f /run/sim/deployed_host_key >/dev/null 2>&1
    fi
    chmod 600 /run/sim/deployed_host_key
    start_sshd /run/sim/deployed_host_key
    # the deployed system's nxc-ready: its services are up
    touch /run/nxc/ready
    echo "UP $host $(date +%s%3N)"
  else
    echo "the deployed system did not boot (NXC_BOOT_ERROR above): the machine stays down"
  fi
done
