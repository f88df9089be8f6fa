# tarball (g5k-image): a tar.xz of a bootable system holding every role: the closure of
# the all-in-one init under /nix/store, /boot/kernel, /boot/initrd, /sbin/init.
args@{ pkgs, compositionName, ... }:
let
  aio = import ./all-in-one.nix args;
  closure = pkgs.closureInfo { rootPaths = [ aio.init ]; };
  image = pkgs.runCommand "nxc-image-${compositionName}" { nativeBuildInputs = [ pkgs.gnutar pkgs.xz ]; } ''
    for d in boot dev etc/nxc nix/store proc root run sbin sys tmp usr/bin var/log; do mkdir -p root/$d; done
    chmod 1777 root/tmp
    chmod 0700 root/root
    cp ${aio.kernel} root/boot/kernel
    cp ${aio.stage1Initrd} root/boot/initrd
    ln -s ${aio.init} root/sbin/init
    echo ${aio.cmdline} > root/boot/cmdline
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
