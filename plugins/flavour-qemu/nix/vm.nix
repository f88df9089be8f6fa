# Flavour `vm` (image kind `vm`, all-in-one): local QEMU VMs booted from one kernel + a small
# initrd; the host's /nix/store is shared into the guest over 9p (virtfs tag `nix-store`) and
# mounted read-only under a tmpfs overlay, so VMs need little RAM and start without copying
# the store. Stage 1 sets the addresses given by the qemu flavour (`nxc.ip=` on the kernel
# command line); the library's `init=` then picks the node's role from `deploy=` (every
# role's init is in the shared store).
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ ... }:
{
  nxc.store.kind = "9p";
  nxc.stage1.enable = true;
  nxc.qemu.enable = true;
}
