#!/bin/bash
# Builds the initrd of a stand-in Grid'5000 node's "standard environment": busybox, dropbear
# (+ sftp-server), kexec-tools and the modules of the node's hardware (as on G5K: an Intel NIC,
# e1000e, and a SATA disk behind AHCI, drivers nxc's G5K module lists) from the Debian kernel, as a gzip'd
# newc cpio. usage: mkinitrd.sh OUT ENV_NAME AUTHORIZED_KEYS HOST_KEY
# env: G5KSIM_RC (the /etc/rc to use, default node/rc), G5KSIM_DEBS (dpkg-deb -x root of dropbear-bin, kexec-tools and their libraries),
#      G5KSIM_KMOD (the kernel's lib/modules/<version>)
set -euo pipefail
OUT=$1 ENV_NAME=$2 AUTH=$3 HOSTKEY=$4
HERE=$(cd "$(dirname "$0")" && pwd)
DEBS=$(realpath "${G5KSIM_DEBS:?}")
KMOD=$(realpath "${G5KSIM_KMOD:?}")/kernel
W=$(mktemp -d "${TMPDIR:-/tmp}/g5ksim-initrd.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W"/{bin,sbin,usr/sbin,usr/bin,usr/lib,lib/x86_64-linux-gnu,lib64,lib/modules,etc/dropbear,root/.ssh,proc,sys,dev,tmp,run,var/log}
cp /bin/busybox "$W/bin/busybox"
for a in $(/bin/busybox --list); do [ -e "$W/bin/$a" ] || ln -s busybox "$W/bin/$a"; done
cp "$DEBS/usr/sbin/dropbear" "$W/usr/sbin/dropbear"
cp "$DEBS/sbin/kexec" "$W/sbin/kexec"
cp /usr/lib/openssh/sftp-server "$W/usr/lib/sftp-server"   # where Debian's dropbear looks for it
BINS="$W/usr/sbin/dropbear $W/sbin/kexec $W/usr/lib/sftp-server"
if [ -x /usr/bin/jq ]; then cp /usr/bin/jq "$W/usr/bin/jq"; BINS="$BINS $W/usr/bin/jq"; fi
export LD_LIBRARY_PATH=$DEBS/usr/lib/x86_64-linux-gnu:$DEBS/lib/x86_64-linux-gnu
for b in $BINS; do if ldd "$b" | grep 'not found' >&2; then echo "mkinitrd: missing libraries for $b" >&2; exit 1; fi; done
for b in $BINS; do ldd "$b" | awk '/=> \//{print $3} /^\t\/lib64/{print $1}'; done | sort -u | while read -r lib; do
  case $lib in /lib64/*) cp -L "$lib" "$W/lib64/" ;; *) cp -L "$lib" "$W/lib/x86_64-linux-gnu/" ;; esac
done
# the NIC, and the local disk of a standard environment (ext4 on SATA), where /tmp lives as on G5K
MODS="e1000e"
[ "${G5KSIM_DISK_MODULES:-1}" = 1 ] && MODS="$MODS ahci sd_mod crc32c_generic ext4"
# the NFS client, as a G5K standard environment mounts the user's home (g5k-sim.sh home-up)
[ "${G5KSIM_DISK_MODULES:-1}" = 1 ] && MODS="$MODS nfsv4"
: > "$W/lib/modules/order"
add_mod() { # name: the module after the ones it depends on (their modinfo depends= field)
  local path dep
  path=$(find "$KMOD" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" | head -n1)
  [ -n "$path" ] || return 0 # built in
  grep -qx "$(basename "$path" .ko)" "$W/lib/modules/order" && return 0
  for dep in $(tr '\0' '\n' < "$path" | sed -n 's/^depends=//p' | tr , ' '); do add_mod "$dep"; done
  cp "$path" "$W/lib/modules/"
  basename "$path" .ko >> "$W/lib/modules/order"
}
for m in $MODS; do add_mod "$m"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/etc/passwd"
echo 'root:*:19000:0:99999:7:::' > "$W/etc/shadow"
echo 'root:x:0:' > "$W/etc/group"
echo '/bin/sh' > "$W/etc/shells"
echo '127.0.0.1 localhost' > "$W/etc/hosts"
cp "$AUTH" "$W/root/.ssh/authorized_keys"
chmod 700 "$W/root/.ssh"; chmod 600 "$W/root/.ssh/authorized_keys"
[ -f "$HOSTKEY" ] || "$DEBS/usr/bin/dropbearkey" -t ed25519 -f "$HOSTKEY" >/dev/null
cp "$HOSTKEY" "$W/etc/dropbear/dropbear_ed25519_host_key"
cat > "$W/etc/inittab" <<INITTAB
::sysinit:/etc/rc
::respawn:/usr/sbin/dropbear -F -E -s -r /etc/dropbear/dropbear_ed25519_host_key -p 22
::ctrlaltdel:/bin/reboot
INITTAB
{ echo '#!/bin/sh'; echo "ENV_NAME=\"$ENV_NAME\""; cat "${G5KSIM_RC:-$HERE/rc}"; } > "$W/etc/rc"
chmod +x "$W/etc/rc"
printf '#!/bin/sh\nexec /bin/init\n' > "$W/init"; chmod +x "$W/init"
(cd "$W" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitrd: $OUT ($(stat -c %s "$OUT") bytes, $ENV_NAME)" >&2
