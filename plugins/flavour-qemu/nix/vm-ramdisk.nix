# Flavour `vm-ramdisk` (image kind `ramdisk`, all-in-one): local QEMU VMs booted from one
# kernel + one initrd that also holds every role's closure (appended by the Nix library);
# stage 1 moves that store into a tmpfs root, so everything lives in RAM: give the VMs enough
# memory for the whole composition's closure. Stage 1 sets the addresses given by the qemu
# flavour (`nxc.ip=` on the kernel command line); the library's `init=` then picks the
# node's role from `deploy=`.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ ... }:
{
  nxc.store.kind = "initramfs";
  nxc.stage1.enable = true;
  nxc.qemu.enable = true;
}
