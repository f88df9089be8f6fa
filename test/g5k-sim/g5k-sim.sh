#!/bin/bash
# Grid'5000 stand-in for nxc's tests: a network namespace with a bridge (the site network),
# N QEMU/TCG VMs "node-1..node-N" on taps, each booted in a "standard environment" (Debian
# kernel, busybox, dropbear, kexec-tools) with its own address, a DHCP server for what the
# nodes kexec into, and optionally OAR 2.5 (Debian packages) scheduling node-1..node-N from
# inside the namespace, with a non-root submitter whose key the nodes authorize for root.
#
#   g5k-sim.sh prepare            install packages, fetch kernel + debs into the cache (idempotent)
#   g5k-sim.sh up N [--oar]       namespace + bridge + N VMs (+ OAR); waits for every node's SSH
#   g5k-sim.sh down               stop (by pid) all that `up` started, restore oar.conf, delete the namespace
#   g5k-sim.sh status             what runs
#   g5k-sim.sh reset K...         power-cycle node-K back into the standard environment
#   g5k-sim.sh poweroff K...      kill node-K's VM (a node that does not answer any more)
#   g5k-sim.sh ssh node-K [cmd]   root SSH to a node from inside the namespace
#   g5k-sim.sh in CMD...          run CMD inside the namespace as root
#   g5k-sim.sh user CMD           run the shell command CMD as the job user (login shell) inside the namespace
#   g5k-sim.sh nfs-up [DIR]       user-space NFS server (nfs-ganesha, v3+v4, rpcbind) on the frontend
#                                 address exporting DIR (default /nix/store) read-only as /export/DIR
#                                 (v3 and v4, as on Grid'5000; the name `nfs` resolves to it), for g5k-nfs-store
#   g5k-sim.sh nfs-down           stop it
#   g5k-sim.sh home-up DIR        the user's home as on Grid'5000: DIR exported by NFS (nfs-up DIR) and mounted
#                                 at the same path DIR on every running node (read-only, NFSv4)
#   g5k-sim.sh env                print the harness's settings as KEY=VALUE lines
#   g5k-sim.sh deployed-initrd [OUT]  build the stand-in for a deployed system's initrd (node/deployed-rc:
#                                 a minimal boot contract), for engine tests that do not need the demo build
#
# Traffic stays inside the namespace (no veth, no route out; see /work/shared/g5k-sim/README.md).
# Settings are environment variables (defaults below). Written outside $G5KSIM_STATE and the cache:
# /etc/netns/$G5KSIM_NS, with --oar /etc/oar/oar.conf (backed up, restored by down), the OAR
# database, and the job user's account.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
: "${G5KSIM_STATE:=/tmp/nxc-g5k-sim}"             # keys, initrd, pids, consoles
: "${G5KSIM_CACHE:=$REPO/test/.cache/g5k-sim}"    # downloaded debs, extracted kernel (gitignored)
: "${G5KSIM_NS:=nxcsim}"
: "${G5KSIM_BR:=br0}"
: "${G5KSIM_NET:=10.77.0}"                         # /24: frontend (bridge) .1, node-K .(10+K)
: "${G5KSIM_MEM:=320}"                             # MB per VM (kexec needs >= 192)
: "${G5KSIM_KVER:=}"                               # Debian kernel version; newest 6.1.0-N-amd64 when empty
: "${G5KSIM_JOB_USER:=g5kuser}"                    # OAR refuses jobs from root
: "${G5KSIM_ACCEL:=tcg,tb-size=32}"
# tb-size=32 (MiB of translated code), as the qemu flavour runs its VMs: with QEMU's default cache,
# a NixOS-style stage 2 (squashfs store, zstd) on this TCG spent ~110 s in the guest kernel's
# `rep movsb`/`rep stosb` (memcpy_erms, clear_page_erms: soft lockups, rcu stalls) before its
# first command; with 32 MiB the same boot reaches it in 0.5 s. Real nodes have no TCG.
: "${G5KSIM_QEMU_EXTRA:=}"
: "${G5KSIM_WAIT_S:=180}"
# Reservable spare disks, as some G5K clusters have (OAR resources of type `disk`): how many per
# node, one number for every node or a comma list (node-1 first, nodes past its end: 0), at most
# 5; each a sparse raw file of G5KSIM_SPARE_DISK_SIZE on the node's SATA controller (ports 1..),
# named by the standard environment /dev/disk/by-path/pci-0000:00:1f.0-ata-<port+1>.
: "${G5KSIM_SPARE_DISKS:=0}"
: "${G5KSIM_SPARE_DISK_SIZE:=1G}"
S=$G5KSIM_STATE NS=$G5KSIM_NS NET=$G5KSIM_NET GW=$G5KSIM_NET.1 C=$G5KSIM_CACHE
APT="apt-get -o DPkg::Lock::Timeout=600 -q"
export DEBIAN_FRONTEND=noninteractive
log() { echo "[g5k-sim $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
inns() { ip netns exec "$NS" "$@"; }
now_ms() { date +%s%3N; }
node_ip() { echo "$NET.$((10 + $1))"; }
node_mac() { printf '52:54:00:77:00:%02x' "$1"; }
spare_disks() {   # spare_disks K: how many spare disks node-K has
  local n
  n=$(echo "$G5KSIM_SPARE_DISKS" | tr ',' '\n' | sed -n "${1}p")
  if ! echo "$G5KSIM_SPARE_DISKS" | grep -q ,; then n=$G5KSIM_SPARE_DISKS; fi
  n=${n:-0}
  case $n in '' | *[!0-9]*) die "G5KSIM_SPARE_DISKS=$G5KSIM_SPARE_DISKS: expected a number or a comma list of numbers" ;; esac
  [ "$n" -le 5 ] || die "G5KSIM_SPARE_DISKS: at most 5 spare disks per node (the SATA controller has 6 ports)"
  echo "$n"
}
AHCI_PCI=0000:00:1f.0                               # the SATA controller's PCI address in the VMs
spare_diskpath() { echo "/dev/disk/by-path/pci-$AHCI_PCI-ata-$(($1 + 1))"; }   # spare_diskpath J (port J)

kver() {
  if [ -n "$G5KSIM_KVER" ]; then echo "$G5KSIM_KVER"; return; fi
  if [ -f "$C/kver" ]; then cat "$C/kver"; return; fi
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1 | sed 's/^linux-image-//'
}

prepare() {
  local pkgs="" p k
  for p in qemu-system-x86 busybox-static openssh-client openssh-sftp-server cpio jq iproute2 \
           postgresql oar-common oar-server oar-server-pgsql oar-user oar-user-pgsql oar-node openssh-server; do
    dpkg -s "$p" >/dev/null 2>&1 || pkgs="$pkgs $p"
  done
  if [ -n "$pkgs" ]; then log "installing$pkgs"; $APT install -y $pkgs >&2 || { $APT update >&2 && $APT install -y $pkgs >&2; }; fi
  k=$(kver); [ -n "$k" ] || die "no linux-image-6.1.0-*-amd64 in apt (run apt-get update)"
  mkdir -p "$C/dl" "$S/keys" "$S/run"
  if [ ! -f "$C/kernel/boot/vmlinuz-$k" ]; then
    log "fetching linux-image-$k"
    (cd "$C/dl" && $APT download "linux-image-$k" >&2 && rm -rf "$C/kernel" && dpkg-deb -x "linux-image-${k}_"*.deb "$C/kernel")
  fi
  echo "$k" > "$C/kver"
  if [ ! -x "$C/debs/usr/sbin/dropbear" ] || [ ! -x "$C/debs/sbin/kexec" ]; then
    log "fetching dropbear and kexec-tools"
    mkdir -p "$C/dl/debs"
    (cd "$C/dl/debs" && $APT download dropbear-bin kexec-tools libtomcrypt1 libtommath1 libxenmisc4.17 libxencall1 \
       libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenstore4 libxentoollog1 \
       libxentoolcore1 libyajl2 >&2 && rm -rf "$C/debs" && mkdir -p "$C/debs" && for d in *.deb; do dpkg-deb -x "$d" "$C/debs"; done)
  fi
  [ -f "$S/keys/id_root" ] || ssh-keygen -q -t ed25519 -N '' -C g5k-sim-root -f "$S/keys/id_root"
  cat > "$S/ssh_config" <<CFG
Host node-* $NET.*
  User root
  IdentityFile $S/keys/id_root
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 3
CFG
}

job_user() {   # the submitter: an account with an SSH key the nodes' standard environment authorizes
  local u=$G5KSIM_JOB_USER h
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  h=$(getent passwd "$u" | cut -d: -f6)
  mkdir -p "$h/.ssh"
  [ -f "$h/.ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$u@g5k-sim" -f "$h/.ssh/id_ed25519"
  chown -R "$u:" "$h/.ssh"; chmod 700 "$h/.ssh"
}

# The standard environment's initrd, named after its sources: the state folder is one per
# machine, shared by checkouts whose node/ files may differ (hardware, modules)
std_initrd() { echo "$S/std-env-$(cat "$HERE"/node/* | sha256sum | cut -c1-12).initrd"; }

build_initrd() {
  local h k i; k=$(kver); i=$(std_initrd)
  h=$(getent passwd "$G5KSIM_JOB_USER" | cut -d: -f6)
  cat "$S/keys/id_root.pub" "$h/.ssh/id_ed25519.pub" > "$S/authorized_keys.new"
  if cmp -s "$S/authorized_keys.new" "$S/authorized_keys"; then rm "$S/authorized_keys.new"; else mv "$S/authorized_keys.new" "$S/authorized_keys"; fi
  if [ ! -f "$i" ] || [ -n "$(find "$S/authorized_keys" -newer "$i")" ]; then
    G5KSIM_DEBS=$C/debs G5KSIM_KMOD=$C/kernel/lib/modules/$k "$HERE/node/mkinitrd.sh" "$i" G5K-STD-ENV "$S/authorized_keys" "$S/keys/hostkey"
  fi
}

net_up() {
  local n=$1 i
  ip netns list | grep -qw "^$NS" || ip netns add "$NS"
  inns ip link set lo up
  inns ip link show "$G5KSIM_BR" >/dev/null 2>&1 || inns ip link add "$G5KSIM_BR" type bridge
  inns ip addr replace "$GW/24" dev "$G5KSIM_BR"
  inns ip link set "$G5KSIM_BR" up
  mkdir -p "/etc/netns/$NS"
  { echo "127.0.0.1 localhost"; echo "127.0.0.1 $(hostname)"   # OAR resolves the frontend's own name
    # `nfs`: the site's NFS server, which g5k-nfs-store looks up when no store is given
    echo "$GW frontend nfs"
    for i in $(seq 1 "$n"); do echo "$(node_ip "$i") node-$i"; done; } > "/etc/netns/$NS/hosts"
  # DHCP for the systems the nodes kexec into (G5K gives each node a fixed address by DHCP)
  { echo "interface $G5KSIM_BR"; echo "start $NET.100"; echo "end $NET.200"
    echo "pidfile $S/run/udhcpd.pid"; echo "lease_file $S/run/udhcpd.leases"
    echo "option subnet 255.255.255.0"; echo "option router $GW"; echo "option lease 86400"
    for i in $(seq 1 "$n"); do echo "static_lease $(node_mac "$i") $(node_ip "$i")"; done; } > "$S/udhcpd.conf"
  touch "$S/run/udhcpd.leases"
  if ! kill -0 "$(cat "$S/run/udhcpd.pid" 2>/dev/null)" 2>/dev/null; then inns busybox udhcpd "$S/udhcpd.conf"; fi
}

vm_start() {   # vm_start K
  local i=$1 tap=tap$1
  inns ip link show "$tap" >/dev/null 2>&1 || inns ip tuntap add dev "$tap" mode tap
  inns ip link set "$tap" master "$G5KSIM_BR"; inns ip link set "$tap" up
  rm -f "$S/run/node-$i.console"
  mkdir -p "$S/disks"; [ -f "$S/disks/node-$i.img" ] || truncate -s 1G "$S/disks/node-$i.img"
  local spare j drives=""
  spare=$(spare_disks "$i")
  for j in $(seq 1 "$spare"); do
    [ -f "$S/disks/node-$i.spare$j.img" ] || truncate -s "$G5KSIM_SPARE_DISK_SIZE" "$S/disks/node-$i.spare$j.img"
    drives="$drives -drive file=$S/disks/node-$i.spare$j.img,format=raw,if=none,id=d$j -device ide-hd,drive=d$j,bus=ahci.$j"
  done
  # shellcheck disable=SC2086
  inns qemu-system-x86_64 -name "node-$i" -machine pc -accel "$G5KSIM_ACCEL" -cpu max -smp 1 -m "$G5KSIM_MEM" \
    -display none -vga none -no-user-config -nodefaults -serial "file:$S/run/node-$i.console" \
    -kernel "$C/kernel/boot/vmlinuz-$(kver)" -initrd "$(std_initrd)" \
    -append "console=ttyS0 quiet loglevel=4 panic=-1 ip=$(node_ip "$i")::$GW:255.255.255.0:node-$i:eth0:off g5ksim_disks=$spare" \
    -drive "file=$S/disks/node-$i.img,format=raw,if=none,id=d0" -device ahci,id=ahci,addr=0x1f -device ide-hd,drive=d0,bus=ahci.0 $drives \
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device "e1000e,netdev=n0,mac=$(node_mac "$i")" \
    -pidfile "$S/run/node-$i.pid" -daemonize $G5KSIM_QEMU_EXTRA
  now_ms > "$S/run/node-$i.t0"
}

vm_stop() {   # vm_stop K: kill node-K's qemu (only if the pid is still a qemu we started)
  local pid; pid=$(cat "$S/run/node-$1.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$S/run/node-$1.pid"
}

wait_ssh() {   # wait_ssh K
  local i=$1 t0; t0=$(cat "$S/run/node-$i.t0")
  while :; do
    if inns ssh -F "$S/ssh_config" -o BatchMode=yes "node-$i" true 2>/dev/null; then echo "node-$i up after $(( $(now_ms) - t0 )) ms"; return 0; fi
    [ $(( $(now_ms) - t0 )) -gt $((G5KSIM_WAIT_S * 1000)) ] && { echo "node-$i NOT up after ${G5KSIM_WAIT_S}s"; return 1; }
    kill -0 "$(cat "$S/run/node-$i.pid" 2>/dev/null)" 2>/dev/null || { echo "node-$i: qemu died"; return 1; }
    sleep 0.3
  done
}

# ------------------------------------------------------------------ OAR inside the namespace
OARC=/etc/oar/oar.conf
pg_ver() { ls /usr/lib/postgresql | sort -n | tail -1; }
setconf() { if grep -q "^$1=" $OARC; then sed -i "s|^$1=.*|$1=\"$2\"|" $OARC; else echo "$1=\"$2\"" >> $OARC; fi; }
listening() { inns ss -Hltn "sport = :$1" | grep -q .; }

# A resources property (a varchar column), added once per database. The listing is read whole
# before it is searched (no `| grep -q` under pipefail: an early exit of grep can fail the
# pipeline), and a database that is still waking up gets a few more tries; the last answer is shown.
oar_property() {
  local out try
  for try in $(seq 1 10); do
    if out=$(inns oarproperty -l 2>&1); then
      grep -qx "$1" <<<"$out" && return 0
      out=$(inns oarproperty -a "$1" -c 2>&1) && return 0
      grep -q "column \"$1\" of relation \"resources\" already exists" <<<"$out" && return 0
    fi
    sleep 0.5
  done
  die "cannot add the OAR resource property $1 after $try tries: $out (see /var/log/oar.log)"
}

oar_up() {
  local n=$1 v pgpid i h
  mkdir -p "$S/oar"
  v=$(pg_ver)
  pg_lsclusters -h | grep -q "^$v main" || pg_createcluster "$v" main >&2
  # PostgreSQL listens on the namespace's 127.0.0.1 (OAR connects over TCP); its socket directory is
  # shared with the host, so a cluster already running elsewhere would collide.
  if pg_lsclusters -h | grep -q "^$v main .* online"; then
    pgpid=$(head -1 "/var/lib/postgresql/$v/main/postmaster.pid")
    [ "$(ip netns identify "$pgpid")" = "$NS" ] || die "PostgreSQL $v/main already runs outside $NS (pid $pgpid): stop it first"
  else
    inns pg_ctlcluster "$v" main start >&2; touch "$S/oar/pg.started"
  fi
  for _ in $(seq 1 100); do su - postgres -c "psql -tAc 'select 1'" >/dev/null 2>&1 && break; sleep 0.2; done
  [ -f "$S/oar/oar.conf.orig" ] || cp $OARC "$S/oar/oar.conf.orig"
  setconf DB_HOSTNAME 127.0.0.1; setconf DB_BASE_PASSWD oarpw; setconf DB_BASE_PASSWD_RO oarropw
  setconf SERVER_HOSTNAME localhost
  setconf DEPLOY_HOSTNAME 127.0.0.1        # deploy jobs run their script on the frontend, as on G5K
  setconf COSYSTEM_HOSTNAME 127.0.0.1
  setconf JOB_RESOURCE_MANAGER_FILE /etc/oar/job_resource_manager.pl
  sed -i 's/^CPUSET_PATH=/#CPUSET_PATH=/' $OARC
  setconf SCHEDULER_MIN_TIME_BETWEEN_2_CALLS 0
  setconf SCHEDULER_JOB_SECURITY_TIME 5
  setconf JOBDEL_SOFTWALLTIME 10; setconf JOBDEL_WALLTIME 20
  setconf FINAUD_FREQUENCY 0               # the VMs run no OAR node daemon: never mark them Suspected
  if ! su - postgres -c "psql -tAc \"select 1 from pg_database where datname='oar'\"" | grep -q 1; then
    inns oar-database --create --db-is-local -y >&2
  fi
  mkdir -p /run/sshd
  if ! kill -0 "$(cat "$S/oar/oar-node-sshd.pid" 2>/dev/null)" 2>/dev/null; then
    inns /usr/sbin/sshd -f /etc/oar/sshd_config -o "PidFile=$S/oar/oar-node-sshd.pid"
  fi
  oar_property host
  for i in $(seq 1 "$n"); do
    inns oarnodes -s "node-$i" 2>/dev/null | grep -q ':' || inns oarnodesetting -a -h "node-$i" >/dev/null
    inns oarnodesetting -h "node-$i" -p "host=node-$i" -p deploy=YES >/dev/null
    inns oarnodesetting -h "node-$i" -s Alive >/dev/null
  done
  for h in $(inns oarnodes -s 2>/dev/null | sed -n 's/^\(node-[0-9]*\):*$/\1/p' | sort -u); do
    if [ "${h#node-}" -gt "$n" ]; then inns oarnodesetting -h "$h" -p deploy=NO -s Absent >/dev/null 2>&1 || true; fi
  done
  oar_disks "$n"
  touch /var/log/oar.log; chown oar /var/log/oar.log
  if ! kill -0 "$(cat "$S/oar/oar-server.pid" 2>/dev/null)" 2>/dev/null; then
    listening 6666 && die "port 6666 is taken in $NS: another OAR server runs there"
    rm -f /var/run/oar-server.pid; inns /usr/sbin/oar-server
    for _ in $(seq 1 100); do listening 6666 && break; sleep 0.1; done
    listening 6666 || die "OAR server did not start (see /var/log/oar.log)"
    # oarsub tells the server about a new job the way this probe does (a "Term" line to localhost:6666,
    # OAR's own scheduling nudge); a first job was once refused with "Cannot connect to executor",
    # so `up` returns only once such a notification goes through, twice in a row.
    local ok=0
    for _ in $(seq 1 100); do
      if inns perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "localhost", PeerPort => 6666, Proto => "tcp") or exit 1; print $s "Term\n" or exit 1; close $s or exit 1'; then
        ok=$((ok + 1)); [ "$ok" -ge 2 ] && break
      else ok=0; fi
      sleep 0.2
    done
    [ "$ok" -ge 2 ] || die "the OAR server listens on 6666 but does not take notifications (see /var/log/oar.log)"
    cp /var/run/oar-server.pid "$S/oar/oar-server.pid"
  fi
  log "OAR up with node-1..node-$n"
}

# The spare disks as Grid'5000 declares reservable disks: one OAR resource of type `disk` per disk,
# with the node's `host`, `disk` = diskJ.node-K and `diskpath` = its /dev/disk/by-path name on the
# node (no network_address: they are not machines). Reserve them with the node:
#   oarsub -t deploy -l "{type='default' or type='disk'}/host=1" ...   (the node and all its disks)
# Disk resources of disks a node no longer has are removed: an Absent disk of a machine left its
# host unschedulable for `{type='default' or type='disk'}/host=N` (no_matching_slot).
oar_disks() {
  local n=$1 k j want id d
  oar_property disk; oar_property diskpath
  for k in $(seq 1 "$n"); do
    want=$(spare_disks "$k")
    for j in $(seq 1 "$want"); do
      d=disk$j.node-$k
      id=$(oar_disk_id "$d")
      if [ -z "$id" ]; then
        inns oarnodesetting -a -h "$d" -p type=disk -p "host=node-$k" -p "disk=$d" \
          -p "diskpath=$(spare_diskpath "$j")" -p deploy=YES >/dev/null
        id=$(oar_disk_id "$d")
        [ -n "$id" ] || die "could not create the OAR disk resource $d"
        # created under a placeholder name (oarnodesetting -a wants one); a disk is no machine
        su - postgres -c "psql -tA -d oar -c \"update resources set network_address='' where resource_id=$id\"" >/dev/null
      fi
      inns oarnodesetting -r "$id" -p "diskpath=$(spare_diskpath "$j")" -p deploy=YES >/dev/null
      inns oarnodesetting -r "$id" -s Alive >/dev/null
    done
  done
  # (not machines: no network_address, as on Grid'5000)
  su - postgres -c "psql -tA -d oar -c \"update resources set network_address='' where type='disk' and network_address <> ''\"" >/dev/null 2>&1 || true
  # disks beyond what each node has now (an earlier `up` with more nodes or disks)
  su - postgres -c "psql -tA -d oar -c \"select resource_id || ' ' || disk from resources where type='disk'\"" 2>/dev/null |
    while read -r id d; do
      k=${d##*.node-}; j=${d%%.node-*}; j=${j#disk}
      if [ "$k" -gt "$n" ] || [ "$j" -gt "$(spare_disks "$k")" ]; then
        # (oarnodesetting -s only asks the server for the change; oarremoveresource wants it done)
        su - postgres -c "psql -tA -d oar -c \"update resources set state='Dead', next_state='UnChanged' where resource_id=$id\"" >/dev/null
        inns oarremoveresource "$id" >/dev/null 2>&1 || die "could not remove the OAR disk resource $d ($id), which node-$k no longer has"
      fi
    done
}
oar_disk_id() { su - postgres -c "psql -tA -d oar -c \"select resource_id from resources where type='disk' and disk='$1'\"" 2>/dev/null | head -1; }

stop_pgid() {
  local pg=$1
  [ -n "$pg" ] || return 0
  kill -TERM -- "-$pg" 2>/dev/null || return 0
  for _ in $(seq 1 100); do pgrep -g "$pg" >/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pg" 2>/dev/null || true
}

oar_down() {
  local pid ids v
  if pid=$(cat "$S/oar/oar-server.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
    # delete jobs while the server can still end their processes cleanly
    ids=$(inns oarstat -J 2>/dev/null | jq -r '.[] | select(.state|test("Running|Launching|toLaunch|Waiting|Hold|Finishing")) | .Job_Id' 2>/dev/null || true)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      inns oardel $ids >/dev/null 2>&1 || true
      for _ in $(seq 1 60); do
        inns oarstat -J 2>/dev/null | jq -e '[.[] | select(.state|test("Running|Launching|Finishing|toLaunch"))] | length == 0' >/dev/null 2>&1 && break
        sleep 0.5
      done
    fi
    stop_pgid "$(ps -o pgid= -p "$pid" | tr -d ' ')"
  fi
  rm -f "$S/oar/oar-server.pid"
  if pid=$(cat "$S/oar/oar-node-sshd.pid" 2>/dev/null); then kill "$pid" 2>/dev/null || true; rm -f "$S/oar/oar-node-sshd.pid"; fi
  if [ -f "$S/oar/pg.started" ]; then
    v=$(pg_ver); inns pg_ctlcluster "$v" main stop 2>/dev/null || pg_ctlcluster "$v" main stop 2>/dev/null || true
    rm -f "$S/oar/pg.started"
  fi
  if [ -f "$S/oar/oar.conf.orig" ]; then cp "$S/oar/oar.conf.orig" $OARC; rm -f "$S/oar/oar.conf.orig"; fi
}

# ------------------------------------------------------------------ NFS (user space: no nfsd in this kernel)
nfs_up() {
  local dir=${1:-/nix/store}
  command -v ganesha.nfsd >/dev/null && command -v rpcbind >/dev/null || $APT install -y nfs-ganesha nfs-ganesha-vfs rpcbind >&2
  mkdir -p "$S/nfs"
  if ! kill -0 "$(cat "$S/nfs/rpcbind.pid" 2>/dev/null)" 2>/dev/null; then
    # rpcbind's socket and lock live in /run, shared with the host: refuse when one already runs there
    pgrep -x rpcbind >/dev/null && die "rpcbind already runs on this machine: stop it first"
    inns rpcbind -w; sleep 0.3
    pgrep -x rpcbind | while read -r p; do [ "$(ip netns identify "$p")" = "$NS" ] && echo "$p" > "$S/nfs/rpcbind.pid"; done
  fi
  cat > "$S/nfs/ganesha.conf" <<CONF
NFS_CORE_PARAM { Protocols = 3, 4; Bind_addr = $GW; Enable_NLM = false; Enable_RQUOTA = false;
                 Mount_Path_Pseudo = true; }
NFSV4 { Graceless = true; }
NFS_KRB5 { Active_krb5 = false; }
EXPORT { Export_Id = 1; Path = $dir; Pseudo = /export$dir; Access_Type = RO; Squash = No_Root_Squash;
         Protocols = 3, 4; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
LOG { Default_Log_Level = WARN; }
CONF
  if ! kill -0 "$(cat "$S/nfs/ganesha.pid" 2>/dev/null)" 2>/dev/null; then
    inns ganesha.nfsd -f "$S/nfs/ganesha.conf" -L "$S/nfs/ganesha.log" -p "$S/nfs/ganesha.pid"
    for _ in $(seq 1 100); do listening 2049 && break; sleep 0.1; done
    listening 2049 || die "nfs-ganesha did not start (see $S/nfs/ganesha.log)"
  fi
  log "NFS: $GW:/export$dir (v3 and v4, as Grid'5000's nfs server exports under /export), read-only"
}

nfs_down() {
  local p
  for f in ganesha rpcbind; do
    if p=$(cat "$S/nfs/$f.pid" 2>/dev/null) && [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi
    rm -f "$S/nfs/$f.pid"
  done
  sleep 0.5; rm -f /run/rpcbind.sock /run/rpcbind.lock /run/rpcbind/rpcbind.xdr /run/rpcbind/portmap.xdr
}

down() {
  local p i left
  [ -d "$S/nfs" ] && nfs_down
  [ -d "$S/oar" ] && oar_down
  for p in "$S"/run/node-*.pid; do [ -f "$p" ] || continue; i=${p##*/node-}; vm_stop "${i%.pid}"; done
  if p=$(cat "$S/run/udhcpd.pid" 2>/dev/null); then kill "$p" 2>/dev/null || true; rm -f "$S/run/udhcpd.pid"; fi
  # whatever is still inside the namespace was started through it (e.g. an orphaned job's processes)
  left=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ' || true)
  if [ -n "${left// /}" ]; then
    log "stopping leftover processes in $NS: $left"
    # shellcheck disable=SC2086
    kill $left 2>/dev/null || true; sleep 1
    left=$(ip netns pids "$NS" 2>/dev/null | tr '\n' ' ' || true)
    # shellcheck disable=SC2086
    [ -z "${left// /}" ] || kill -KILL $left 2>/dev/null || true
  fi
  rm -rf "$S/disks"
  if ip netns list | grep -qw "^$NS"; then ip netns del "$NS"; fi
  rm -rf "/etc/netns/$NS"; rmdir /etc/netns 2>/dev/null || true
  log "down"
}

cmd=${1:-}; shift || true
case $cmd in
  prepare) prepare; job_user; build_initrd ;;
  up)
    N=${1:?usage: up N [--oar]}; OAR=0; [ "${2:-}" = --oar ] && OAR=1
    for p in "$S"/run/node-*.pid; do [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null && die "nodes already run: '$0 down' first"; done
    prepare; job_user; build_initrd
    rm -f "$S"/run/node-* "$S"/disks/node-*.spare*.img
    net_up "$N"
    echo "$N" > "$S/run/nodes"
    for i in $(seq 1 "$N"); do vm_start "$i"; done
    log "started $N VMs in $NS; waiting for SSH"
    [ "$OAR" = 1 ] && oar_up "$N"
    rc=0
    for i in $(seq 1 "$N"); do wait_ssh "$i" > "$S/run/node-$i.ready" & done; wait || true
    cat "$S"/run/node-*.ready >&2
    if grep -qE 'NOT|died' "$S"/run/node-*.ready; then rc=1; fi
    exit $rc ;;
  down) down ;;
  status)
    ip netns list | grep -w "^$NS" || echo "no namespace $NS"
    for p in "$S"/run/node-*.pid; do [ -f "$p" ] && echo "$(basename "$p" .pid) pid $(cat "$p") $(kill -0 "$(cat "$p")" 2>/dev/null && echo running || echo dead)"; done
    true ;;
  reset) for i in "$@"; do vm_stop "$i"; vm_start "$i"; done; rc=0; for i in "$@"; do wait_ssh "$i" >&2 || rc=1; done; exit $rc ;;
  poweroff) for i in "$@"; do vm_stop "$i"; done ;;
  ssh) h=$1; shift; exec ip netns exec "$NS" ssh -F "$S/ssh_config" -o BatchMode=yes "$h" "$@" ;;
  in) exec ip netns exec "$NS" "$@" ;;
  user) exec ip netns exec "$NS" su - "$G5KSIM_JOB_USER" -c "$1" ;;
  deployed-initrd)
    prepare >/dev/null; OUT=${1:-$S/deployed.initrd}; : > "$S/no_keys"
    G5KSIM_DISK_MODULES=0 G5KSIM_RC=$HERE/node/deployed-rc G5KSIM_DEBS=$C/debs G5KSIM_KMOD=$C/kernel/lib/modules/$(kver) \
      "$HERE/node/mkinitrd.sh" "$OUT" NXC-DEPLOYED "$S/no_keys" "$S/keys/hostkey_deployed"
    echo "$OUT" ;;
  nfs-up) nfs_up "$@" ;;
  nfs-down) nfs_down ;;
  home-up)
    D=${1:?usage: home-up DIR}; nfs_up "$D"; rc=0
    for p in "$S"/run/node-*.pid; do
      [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null || continue
      i=${p##*/node-}; i=${i%.pid}
      inns ssh -F "$S/ssh_config" -o BatchMode=yes "node-$i" \
        "mkdir -p '$D' && { grep -q ' $D nfs' /proc/mounts || mount -t nfs4 -o ro,addr=$GW '$GW:/export$D' '$D'; }" || { log "node-$i: cannot mount $D"; rc=1; }
    done
    exit $rc ;;
  env)
    echo "G5KSIM_STATE=$S"; echo "G5KSIM_CACHE=$C"; echo "G5KSIM_NS=$NS"; echo "G5KSIM_NET=$NET"
    echo "G5KSIM_JOB_USER=$G5KSIM_JOB_USER"; echo "G5KSIM_JOB_USER_HOME=$(getent passwd "$G5KSIM_JOB_USER" | cut -d: -f6)"
    echo "G5KSIM_KERNEL=$C/kernel/boot/vmlinuz-$(kver)"; echo "G5KSIM_KMOD=$C/kernel/lib/modules/$(kver)"
    echo "G5KSIM_INITRD=$(std_initrd)"; echo "G5KSIM_ROOT_KEY=$S/keys/id_root" ;;
  *) sed -n '2,29p' "$0"; exit 2 ;;
esac
