# Flavour `g5k-ramdisk` (image kind `ramdisk`, all-in-one): Grid'5000 nodes kexec'd into one
# kernel + one initrd that also holds every role's closure (appended by the Nix library);
# stage 1 moves that store into a tmpfs root: nothing is written to the node's disks. Stage 1
# gets the node's address by DHCP and keeps it; the library's `init=` then picks the node's
# role from `deploy=` (base64, gz: or an http:// URL) by that address.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ ... }:
{
  nxc.store.kind = "initramfs";
  nxc.stage1.enable = true;
  nxc.g5k.enable = true;
}
