# vm: kernel + the small stage-1 initrd; the guest mounts the host's /nix/store over
# virtio-9p (mount tag `nix-store`) under a tmpfs overlay, then runs `init=`.
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
    store_tag = "nix-store";
  };
}
