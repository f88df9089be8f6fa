# The NixOS modules shared by every flavour (real NixOS only). The Nix library adds this
# module, together with the flavour's own module from its plugin package, to every role's
# configuration; flavour modules then only set `nxc.*` options and platform settings, so they
# never import files by relative path (they are shipped in other packages).
#
# Relies on the library's own module (nix/lib/nxc-module.nix: nxc.role, nxc.composition,
# nxc.flavour, nxc.bootScript, nxc.bootTools), which the library adds to every role too.
# Declares: nxc.ssh.enable, nxc.ready.enable, nxc.boot.*, nxc.stage1.*, nxc.store.*,
# nxc.qemu.enable, nxc.g5k.*, and the original nxc's nxc.users, nxc.sharedDirs,
# nxc.postBootCommands, nxc.wait-online.enable (see each file).
{
  imports = [
    ./node.nix
    ./stage1.nix
    ./store.nix
    ./qemu-guest.nix
    ./g5k.nix
    ./compat.nix
  ];
}
