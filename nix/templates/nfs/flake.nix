{
  description = "nxc project (nfs template)";

  inputs = {
    # The NixOS release your roles are built from.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    # The nxc Nix library. `nxc build` generates it in .nxc/nixlib (the library plus the
    # flavours installed in this project's node_modules) and points this input there.
    nxc.url = "path:./.nxc/nixlib";
  };

  outputs =
    { self, nixpkgs, nxc }:
    let
      system = "x86_64-linux";
    in
    {
      # One package per "<composition>::<flavour>": `nxc build -f vm` builds
      # packages.${system}."composition::vm" (the compose info of that flavour).
      packages.${system} = nxc.lib.compose {
        inherit nixpkgs system;
        composition = ./composition.nix;
      };
    };
}
