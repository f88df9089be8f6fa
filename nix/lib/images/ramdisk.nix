# ramdisk (vm-ramdisk, g5k-ramdisk): one kernel + ONE initrd = the stage-1 initrd followed
# by a cpio of every role's closure; the node keeps running from memory.
args@{ pkgs, compositionName, ... }:
let
  aio = import ./all-in-one.nix args;
  initrd = pkgs.makeInitrd {
    name = "nxc-ramdisk-${compositionName}";
    prepend = [ aio.stage1Initrd ];
    compressor = "gzip";
    contents = [ { object = aio.init; symlink = "/nxc-init"; } ]
      ++ map (r: { object = (builtins.getAttr r args.systems).config.system.build.toplevel; symlink = "/nix/var/nxc/roles/${r}"; }) aio.roleNames;
  };
in
{
  all = {
    kernel = aio.kernel;
    initrd = "${initrd}/initrd";
    cmdline = aio.cmdline;
    init = "${aio.init}";
    roles_map = "${aio.roleMap}";
  };
}
