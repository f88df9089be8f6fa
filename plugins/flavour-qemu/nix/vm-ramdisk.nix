# Flavour `vm-ramdisk` (image kind `ramdisk`, all-in-one): local QEMU VMs booted from one
# kernel + one initrd; the initrd ends with /nix-store.squashfs holding every role's closure
# (appended by the Nix library), mounted read-only under a tmpfs overlay. Everything lives in
# RAM: give the VMs enough memory for the whole composition's closure.
# Stage 1 configures the NICs from `nxc.ip=` and picks the node's role from `deploy=`.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ ... }:
{
  nxc.store.kind = "squashfs";
  nxc.stage1.enable = true;
  nxc.qemu.enable = true;
}
