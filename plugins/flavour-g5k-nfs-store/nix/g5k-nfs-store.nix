# Flavour `g5k-nfs-store` (image kind `remote-store`, all-in-one): Grid'5000 nodes kexec'd
# into one kernel + a small initrd; stage 1 gets an address by DHCP, mounts the Nix store
# exported by the frontend (`nfs_store=HOST:/export/nix/store` on the kernel command line,
# HOST preferably an IP address) read-only under a tmpfs overlay, and picks the node's role
# from the deployment (the library's `init=`). The network configuration of stage 1 is kept:
# the store depends on it.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ ... }:
{
  nxc.store.kind = "nfs";
  nxc.stage1.enable = true;
  nxc.g5k.enable = true;
}
