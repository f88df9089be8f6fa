# nxc's image code (nix/lib/images) built for real with the test OS's packages (real store
# paths from Debian binaries), for what evaluation alone cannot show:
#   init:  the all-in-one init, its boot tools including a package shaped like nixpkgs'
#          busybox (ip, hostname in sbin/ only), its boot script a probe that prints where
#          `ip` and `hostname` are found;
#   image: the g5k-image tarball of a system whose kernel parameters hold quotes and `$`.
{ repo, testos ? repo + "/test/fixtures/testos" }:
let
  pkgs = import testos { };
  sbinShaped = pkgs.runCommand "busybox-sbin-shaped" { } ''
    mkdir -p $out/bin $out/sbin
    for a in ip hostname; do ln -s ${pkgs.busybox}/bin/busybox $out/sbin/$a; done
  '';
  # Looks the tools up in $PATH itself: busybox's shell knows its applets whatever the PATH.
  probe = pkgs.writeText "probe-boot-script" ''
    echo "PATH=$PATH"
    for t in ip hostname; do
      found=
      IFS=:
      for d in $PATH; do
        if [ -x "$d/$t" ]; then found=$d/$t; break; fi
      done
      unset IFS
      echo "$t=$found"
    done
  '';
  toplevel = pkgs.runCommand "nixos-system-node" { } ''
    mkdir -p $out
    printf '#!${pkgs.runtimeShell}\necho role init\n' > $out/init
    chmod +x $out/init
  '';
  kernelDir = pkgs.runCommand "kernel" { } "mkdir -p $out; echo kernel > $out/bzImage";
  initrdDir = pkgs.runCommand "initrd" { } "mkdir -p $out; echo initrd > $out/initrd";
  system = {
    config = {
      system.build = { inherit toplevel; kernel = kernelDir; initialRamdisk = initrdDir; };
      system.boot.loader = { kernelFile = "bzImage"; initrdFile = "initrd"; };
      boot.kernelParams = [ "console=ttyS0,115200" ''nxc.note="two words"'' "nxc.home=$HOME" ];
      # nixpkgs-style busybox last: only the sbin-shaped package has ip and hostname
      nxc.bootTools = [ pkgs.jq sbinShaped ];
    };
  };
  args = { inherit pkgs; systems = { node = system; }; compositionName = "probe"; };
  aio = import (repo + "/nix/lib/images/all-in-one.nix") (args // { bootScript = probe; });
  tarball = import (repo + "/nix/lib/images/tarball.nix") (args // { bootScript = repo + "/nix/boot/nxc-boot.sh"; });
in
{
  init = aio.init;
  # the tarball as Kadeploy would unpack it
  image = pkgs.runCommand "nxc-image-unpacked" { } ''
    mkdir -p $out
    ${pkgs.xz}/bin/xz -dc ${tarball.all.image} | ${pkgs.gnutar}/bin/tar -x -C $out
  '';
  cmdline = tarball.all.cmdline;
}
