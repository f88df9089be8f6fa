# tarball (g5k-image): a tar.xz of a bootable system holding every role: the closure of
# the all-in-one init under /nix/store, /boot/kernel, /boot/initrd, /boot/cmdline, the init
# as /init (NixOS's stage 1 runs /init when the boot loader passes no init=) and /sbin/init,
# and /nix-path-registration: the closure's Nix database registration, which the system
# loads at first boot (nix/modules/store.nix, kind `disk`) so that `nix` on the node knows
# its store, as NixOS's own system tarballs do.
args@{ pkgs, compositionName, ... }:
let
  aio = import ./all-in-one.nix args;
  closure = pkgs.closureInfo { rootPaths = [ aio.init ]; };
  # Written by Nix, not echoed by the shell: kernel parameters may hold quotes, `$`, `*`.
  cmdline = pkgs.writeText "nxc-cmdline-${compositionName}" (aio.cmdline + "\n");
  image = pkgs.runCommand "nxc-image-${compositionName}" { nativeBuildInputs = [ pkgs.gnutar pkgs.xz ]; } ''
    for d in boot dev etc/nxc nix/store proc root run sbin sys tmp usr/bin var/log; do mkdir -p root/$d; done
    chmod 1777 root/tmp
    chmod 0700 root/root
    cp ${aio.kernel} root/boot/kernel
    cp ${aio.stage1Initrd} root/boot/initrd
    cp ${cmdline} root/boot/cmdline
    ln -s ${aio.init} root/sbin/init
    ln -s ${aio.init} root/init
    cp ${closure}/registration root/nix-path-registration
    chmod 0644 root/boot/cmdline root/nix-path-registration
    mkdir -p $out
    sed 's|^/||' ${closure}/store-paths > paths
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 -C root -cf image.tar .
    tar --owner=0 --group=0 --numeric-owner --mtime=@1 -C / -rf image.tar -T paths
    xz -0 -T1 -c image.tar > $out/nixos-image.tar.xz
  '';
in
{
  all = {
    image = "${image}/nixos-image.tar.xz";
    kernel = aio.kernel;
    initrd = aio.stage1Initrd;
    cmdline = aio.cmdline;
    init = "${aio.init}";
    roles_map = "${aio.roleMap}";
  };
}
