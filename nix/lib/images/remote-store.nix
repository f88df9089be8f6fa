# remote-store (g5k-nfs-store): kernel + the small stage-1 initrd; the node mounts the store
# read-only over NFS from `nfs_store=HOST:/export/nix/store` (added to the kernel command
# line at start), under a tmpfs overlay, then runs `init=`.
args:
let aio = import ./all-in-one.nix args;
in
{
  all = {
    kernel = aio.kernel;
    initrd = aio.stage1Initrd;
    cmdline = aio.cmdline;
    init = "${aio.init}";
    roles_map = "${aio.roleMap}";
  };
}
