{ pkgs, ... }:
{
  roles.node = { pkgs, ... }: {
    boot.kernelPackages = pkgs.linuxKernel.packages.linux_5_4;
  };
  testScript = ''node.succeed("uname -r | grep -q '^5.4'")'';
}
