{ pkgs, ... }:
{
  roles.node = { pkgs, ... }: {
    # (the original's example pinned linux_5_4, which nixpkgs has since dropped)
    boot.kernelPackages = pkgs.linuxPackages_latest;
  };
  testScript = ''node.succeed("uname -r")'';
}
