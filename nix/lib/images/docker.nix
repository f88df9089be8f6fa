# docker: per-role systems run from the host's /nix/store (mounted into the containers);
# `all.docker_image` is the base root file system (a tarball for `docker import`), the
# same for every composition: empty FHS directories only, the role's init fills /etc.
{ pkgs, ... }:
let
  rootfs = pkgs.runCommand "nxc-docker-rootfs.tar" { nativeBuildInputs = [ pkgs.gnutar ]; } ''
    for d in bin dev etc etc/nxc nix/store proc root run sys tmp usr/bin usr/lib var/log var/empty; do
      mkdir -p root/$d
    done
    chmod 1777 root/tmp
    chmod 0700 root/root
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1 -C root -cf $out .
  '';
in
{
  all = { docker_image = "${rootfs}"; };
}
