#!/bin/sh
# nxc node boot script: the boot contract of docs/architecture.md, written once for every
# image (real NixOS and the test OS). POSIX sh; needs jq, base64, gzip, and wget or curl
# plus sha256sum for deploy=http(s)://.
#
#   nxc-boot.sh                 set the node up, then exec its role's init
#   nxc-boot.sh --setup-only    set the node up and return (a role's own init calls this)
#
# 1. the deployment: `deploy=` on the kernel command line (gz:<base64 gzip JSON>,
#    <base64 JSON>, http(s)://URL: its SHA-256 must equal `deploy_sha256=` when that is
#    given), else /etc/nxc/deployment.json;
# 2. own entry: by one of the node's addresses, else by hostname;
# 3. hostname, /etc/hosts (IP-keyed entries), root's authorized_keys, /etc/nxc/node.json
#    (role, host, address, index, globalIndex, uuid, composition, flavour, parameters);
# 4. the role's init: the entry's `init`, else the image's role map ($NXC_ROLES).
# Failures print ONE line `NXC_BOOT_ERROR <reason>` and exit 1; as PID 1 (the all-in-one
# images' `init=`), where exiting would panic the kernel and scroll the reason away, the line
# is printed on the console, then a shell is started there (again after each exit, the line
# repeated above it), or the script sleeps forever if there is no shell.
#
# Environment (tests and images): NXC_ROOT (prefix of every file read or written),
# NXC_CMDLINE (file read instead of /proc/cmdline), NXC_ADDRESSES (instead of the
# addresses `ip` reports), NXC_HOSTNAME (instead of the current hostname), NXC_ROLES (role
# map JSON {"role": "/nix/store/…/init"}), NXC_EXPECT_ROLE (refuse another role),
# NXC_FETCH_RETRIES (deploy=http(s), one try per second, default 60).
#
# Every node of a deployment runs this at once on shared CPUs: it starts as few programs as it
# can (one jq, one ip, one mkdir in the common case); shell builtins do the rest.
set -u
set -f
R=${NXC_ROOT:-}
MODE=${1:-}

fail() {
  echo "NXC_BOOT_ERROR $*"
  if [ "$$" = 1 ] && [ "$MODE" != --setup-only ]; then rescue "$*"; fi
  exit 1
}

# PID 1 never returns: the console keeps the reason, and whoever is at it gets a shell.
rescue() {
  if command -v sh >/dev/null 2>&1; then
    while :; do
      echo "nxc: this node cannot boot (NXC_BOOT_ERROR above): a shell on the console, exit it for another"
      sh -i
      echo
      echo "NXC_BOOT_ERROR $1"
      sleep 1 2>/dev/null
    done
  fi
  echo "nxc: this node cannot boot (NXC_BOOT_ERROR above) and has no shell: halted"
  while :; do sleep 2147483647 2>/dev/null || :; done
}

command -v jq >/dev/null 2>&1 || fail "jq is not on the PATH ($PATH)"
mkdir -p "$R/run/nxc" "$R/etc/nxc" 2>/dev/null || fail "cannot create $R/run/nxc"
DOC=$R/run/nxc/deployment.json

# ---- 1. the deployment ----
cmdline_file=${NXC_CMDLINE:-/proc/cmdline}
deploy=
digest=
disks=
cmdline=
if [ -r "$cmdline_file" ]; then
  while IFS= read -r l || [ -n "$l" ]; do cmdline="$cmdline $l"; done < "$cmdline_file"
  for p in $cmdline; do
    case $p in
      deploy=*) deploy=${p#deploy=} ;;
      deploy_sha256=*) digest=${p#deploy_sha256=} ;;
      nxc_disks=*) disks=${p#nxc_disks=} ;;
    esac
  done
fi

case $deploy in
  "")
    src=/etc/nxc/deployment.json
    [ -f "$R$src" ] || fail "no deploy= on the kernel command line and no $src"
    cp "$R$src" "$DOC" || fail "cannot read $src"
    ;;
  http://* | https://*)
    src=$deploy
    n=${NXC_FETCH_RETRIES:-60}
    until
      if command -v curl >/dev/null 2>&1; then curl -fsSL -o "$DOC" "$deploy" 2>/dev/null
      else wget -q -O "$DOC" "$deploy" 2>/dev/null; fi
    do
      n=$((n - 1))
      [ "$n" -gt 0 ] || fail "deploy=$deploy: cannot download the deployment"
      sleep 1
    done
    # Plain HTTP on a shared network: anyone who answers in the server's place could hand us
    # their own key. The digest came on the command line, through the deploying host's channel.
    if [ -n "$digest" ]; then
      case $digest in *[!0-9a-f]*) digest_ok= ;; *) [ ${#digest} -eq 64 ] && digest_ok=1 || digest_ok= ;; esac
      if [ -z "$digest_ok" ]; then
        rm -f "$DOC"
        fail "deploy_sha256=$digest: not a SHA-256 digest (64 hexadecimal digits)"
      fi
      command -v sha256sum >/dev/null 2>&1 || { rm -f "$DOC"; fail "sha256sum is not on the PATH ($PATH)"; }
      got=$(sha256sum < "$DOC")
      got=${got%% *}
      if [ "$got" != "$digest" ]; then
        rm -f "$DOC"
        fail "deploy=$deploy: digest mismatch: sha256 $got, deploy_sha256=$digest (document altered in transit, or a stale server answered)"
      fi
    fi
    ;;
  gz:*)
    src="deploy=gz:…"
    printf '%s' "${deploy#gz:}" | base64 -d > "$DOC.gz" 2>/dev/null && [ -s "$DOC.gz" ] ||
      fail "deploy=gz:…: not valid base64"
    gzip -dc < "$DOC.gz" > "$DOC" 2>/dev/null || fail "deploy=gz:…: not valid gzip data"
    rm -f "$DOC.gz"
    ;;
  *)
    src="deploy=…"
    printf '%s' "$deploy" | base64 -d > "$DOC" 2>/dev/null && [ -s "$DOC" ] || fail "deploy=…: not valid base64"
    ;;
esac
# ---- 2. own entry, and 3.'s inputs: ONE jq pass over the document ----
# (a node reads the whole document once, whatever the number of nodes: jq processes are what
# a node's boot pays for on a shared CPU, not the size of the JSON)
if [ "${NXC_ADDRESSES+set}" = set ]; then
  addrs=$NXC_ADDRESSES
else
  # `ip -o` lines: "2: eth0    inet 10.0.0.2/24 brd ...": the 4th field, without the length
  ipout=$(ip -o addr show 2>/dev/null)
  addrs=
  while read -r _ _ _ a _; do
    a=${a%%/*}
    case $a in '' | 127.0.0.1 | ::1) ;; *) addrs="$addrs $a" ;; esac
  done <<EOF
$ipout
EOF
fi
if [ "${NXC_HOSTNAME+set}" = set ]; then hn=$NXC_HOSTNAME
elif [ -r /proc/sys/kernel/hostname ]; then read -r hn < /proc/sys/kernel/hostname || hn=
else hn=$(hostname 2>/dev/null); fi
# Prints shell assignments (every value quoted by jq's @sh): ok, key, and for the entry found
# role, host, init, pub, hosts (the IP-keyed entries as /etc/hosts lines) and node (node.json).
# The node's identity: a document without it (the original nxc's) gets the indexes nxc would
# have given: rank within the role from 1, rank in the document from 0; no UUID. Parameters:
# the global ones, overridden by the node's own (its role's and its own, resolved by nxc).
vars=$(jq -r --arg addrs "$(echo $addrs)" --arg hn "$hn" '
  def str: if . == null then "" else tostring end;
  if (.deployment | type) != "object" then "ok=" else
  (.deployment | to_entries) as $all
  | ($addrs | [splits(" +")] | map(select(. != ""))) as $mine
  | ([$mine[] as $a | $all[] | select(.key == $a) | .key][0]
     // (if $hn == "" then null else [$all[] | select(.key == $hn or .value.host == $hn) | .key][0] end))
    as $k
  | if $k == null then "ok=1", "key=" else
    .deployment[$k] as $e
    | [$all[] | select(.value.role == $e.role) | .key] as $peers
    | [$all[] | select(.key | test("^[0-9.]+$") or test(":")) | "\(.key) \(.value.host)"] as $iphosts
    | "ok=1",
      "key=\($k | @sh)",
      "role=\($e.role | str | @sh)",
      "host=\($e.host | str | @sh)",
      "init=\($e.init | str | @sh)",
      "pub=\(.["ssh_key.pub"] | str | @sh)",
      "dmap=\([($e.disks // [])[] | select((.path | type) == "string")
        | "\(.id)=\(.path | ltrimstr("/dev/disk/"))"] | join(",") | @sh)",
      "hosts=\($iphosts | join("\n") | @sh)",
      "node=\({ role: $e.role, host: $e.host, address: $k,
        index: ($e.index // ([range(0; $peers | length) | select($peers[.] == $k)][0] + 1)),
        globalIndex: ($e.globalIndex // [range(0; $all | length) | select($all[.].key == $k)][0]),
        uuid: ($e.uuid // null),
        composition: (.composition // null), flavour: (.flavour // null),
        parameters: ((.parameters // {}) + ($e.parameters // {})) } | tojson | @sh)"
    end
  end' "$DOC" 2>/dev/null) || vars="ok="
ok=
key=
dmap=
eval "$vars"
[ -n "$ok" ] || fail "$src: not a JSON deployment document (no \"deployment\" object)"
[ -e "$R/etc/nxc/deployment.json" ] || cp "$DOC" "$R/etc/nxc/deployment.json" 2>/dev/null
[ -n "$key" ] || fail "no entry for this node in the deployment ($src): addresses [$(echo $addrs)], hostname '$hn'"
[ -n "$role" ] || fail "deployment entry $key has no role"
[ -n "$host" ] || fail "deployment entry $key has no host"
if [ -n "${NXC_EXPECT_ROLE:-}" ] && [ "$NXC_EXPECT_ROLE" != "$role" ]; then
  fail "this node ($key) is a $role in the deployment but runs the init of role $NXC_EXPECT_ROLE"
fi

# ---- 3. hostname, hosts, keys, node.json ----
printf '%s\n' "$host" > "$R/etc/hostname" 2>/dev/null
[ -n "$R" ] || [ "$hn" = "$host" ] || hostname "$host" 2>/dev/null || true

# Rewrite /etc/hosts only when the deployment has IP addresses (docker resolves names itself).
if [ -n "$hosts" ]; then
  # written in place: /etc/hosts may be a bind mount (docker)
  printf '127.0.0.1 localhost\n::1 localhost\n%s\n' "$hosts" > "$R/run/nxc/hosts" &&
    printf '127.0.0.1 localhost\n::1 localhost\n%s\n' "$hosts" > "$R/etc/hosts" || fail "cannot write /etc/hosts"
fi

if [ -n "$pub" ]; then
  if [ -d "$R/root/.ssh" ]; then chmod 700 "$R/root/.ssh" || fail "cannot create /root/.ssh"
  else mkdir -p -m 700 "$R/root/.ssh" || fail "cannot create /root/.ssh"; fi
  ak=$R/root/.ssh/authorized_keys
  known=
  if [ -f "$ak" ]; then
    while IFS= read -r l || [ -n "$l" ]; do [ "$l" = "$pub" ] && { known=1; break; }; done < "$ak"
  fi
  [ -n "$known" ] || printf '%s\n' "$pub" >> "$ak" || fail "cannot write $ak"
  chmod 600 "$ak"
fi

printf '%s\n' "$node" > "$R/etc/nxc/node.json" || fail "cannot write /etc/nxc/node.json"

# Block devices (nxc.disks), named /dev/disk/by-nxc/<id> on every flavour (made here, for
# systems where udev does not run, or not yet; udev leaves these links alone).
# - QEMU flavours: virtio disks whose serial is their id, also /dev/disk/by-id/virtio-<id> as
#   udev names them (a running udev keeps or replaces those links);
# - docker: the device node the engine made at /dev/disk/by-id/virtio-<id>;
# - Grid'5000: `nxc_disks=<id>=<by-dir>/<name>,...` on the kernel command line (kexec flavours),
#   else the `path` of the entry's disks in the deployment (g5k-image: one command line for every
#   node), names the spare disk each id maps onto by its /dev/disk/by-path name on the machine;
#   the link points there
#   (udev makes that name), or, when nothing made it yet, to the disk the sysfs path of a
#   `pci-<PCI address>-ata-<port>` name designates.
nxc_disk_link() { # nxc_disk_link ID TARGET (relative to /dev/disk/by-nxc)
  mkdir -p "$R/dev/disk/by-nxc" 2>/dev/null && ln -sfn "$2" "$R/dev/disk/by-nxc/$1" 2>/dev/null || true
}
# (globbed here, this script runs with globbing off; no match leaves the pattern, skipped)
set +f
set -- "$R"/sys/block/vd*
set -f
for d in "$@"; do
  d=${d##*/}
  case "$d" in vd[*]*) continue ;; vd*) ;; *) continue ;; esac
  # a container sees the host's /sys/block: only the node's own devices are named
  [ -e "$R/dev/$d" ] || continue
  s=$(cat "$R/sys/block/$d/serial" 2>/dev/null) || continue
  case "$s" in '' | */* | .* | *[!A-Za-z0-9_-]*) continue ;; esac
  l="$R/dev/disk/by-id/virtio-$s"
  [ -e "$l" ] || [ -L "$l" ] || { mkdir -p "$R/dev/disk/by-id" && ln -s "../../$d" "$l"; } 2>/dev/null || true
  nxc_disk_link "$s" "../../$d"
done
# docker: the engine puts each disk at /dev/disk/by-id/virtio-<id> itself (a device node, no udev)
set +f
set -- "$R"/dev/disk/by-id/virtio-*
set -f
for f in "$@"; do
  f=${f##*/}
  case "$f" in virtio-*) ;; *) continue ;; esac
  s=${f#virtio-}
  case "$s" in '' | *[!A-Za-z0-9_-]*) continue ;; esac
  [ -b "$R/dev/disk/by-id/$f" ] && ! [ -L "$R/dev/disk/by-id/$f" ] || continue
  [ -e "$R/dev/disk/by-nxc/$s" ] || nxc_disk_link "$s" "../by-id/$f"
done
[ -n "$disks" ] || disks=$dmap
IFS=,
set -- $disks
unset IFS
for pair in "$@"; do
  id=${pair%%=*} name=${pair#*=}
  case "$id" in '' | *[!A-Za-z0-9_-]*) continue ;; esac
  case "$name" in by-[a-z]*/[A-Za-z0-9]* ) ;; *) continue ;; esac
  case "$name" in */*/* | *..* | *[!A-Za-z0-9:._+/-]*) continue ;; esac
  target=../$name
  if ! [ -e "$R/dev/disk/$name" ]; then
    # pci-0000:00:1f.2-ata-3 (or ...-ata-3.0): the disk below that controller's ATA port 3
    pci=$(printf '%s\n' "$name" | sed -n 's|^by-path/pci-\([0-9a-f:.]*\)-ata-\([0-9]*\)\(\.0\)\{0,1\}$|\1 \2|p')
    if [ -n "$pci" ]; then
      for b in $(ls "$R/sys/block" 2>/dev/null); do
        case "$(readlink -f "$R/sys/block/$b/device" 2>/dev/null)" in
          */"${pci% *}"/ata"${pci#* }"/*) target=../../$b ;;
        esac
      done
    fi
  fi
  nxc_disk_link "$id" "$target"
done
echo "nxc-boot: $host is a $role ($key)"

[ "$MODE" = --setup-only ] && exit 0

# ---- 4. the role's init ----
if [ -z "$init" ]; then
  [ -n "${NXC_ROLES:-}" ] && [ -f "$NXC_ROLES" ] ||
    fail "deployment entry $key has no init and this image has no role map"
  init=$(jq -r --arg r "$role" '.[$r] // empty' "$NXC_ROLES")
  [ -n "$init" ] || fail "role $role is not in this image (roles: $(jq -r 'keys | join(", ")' "$NXC_ROLES"))"
fi
[ -x "$init" ] || fail "init of role $role not found: $init"
NXC_BOOT_DONE=1 NXC_ROLE=$role NXC_HOST=$host
export NXC_BOOT_DONE NXC_ROLE NXC_HOST
exec "$init"
