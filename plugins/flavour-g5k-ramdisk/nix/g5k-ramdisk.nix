# Flavour `g5k-ramdisk` (image kind `ramdisk`, all-in-one): Grid'5000 nodes kexec'd into one
# kernel + one initrd that ends with /nix-store.squashfs holding every role's closure
# (appended by the Nix library), mounted read-only under a tmpfs overlay: nothing is written
# to the node's disks. Stage 1 gets an address by DHCP (deploy= may be an http:// URL) and
# picks the node's role from the deployment entry of its address.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ ... }:
{
  nxc.store.kind = "squashfs";
  nxc.stage1.enable = true;
  nxc.g5k.enable = true;
}
