# docker: per-role systems run from the host's /nix/store (mounted into the containers);
# `all.docker_image` is the base root file system (a tarball for `docker import`), the
# same for every composition: empty FHS directories only, the role's init fills /etc.
{ pkgs, systems, ... }:
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
  # NixOS containers run systemd as PID 1 (declared by the docker flavour's module); the
  # docker flavour then grants what systemd needs. The test OS's init is a plain process.
  extra.docker.systemd = builtins.any (s: s.config.nxc.docker.systemd or false) (builtins.attrValues systems);
}
