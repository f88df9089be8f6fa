{
  description = "nxc project (client-server template)";

  inputs = {
    # The NixOS release your roles are built from.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    # The nxc Nix library. `nxc build` replaces this input with its generated copy in
    # .nxc/nixlib (the library plus the flavours installed in this project's node_modules);
    # the URL is the original NixOS Compose, whose `lib.compose` takes the same arguments.
    nxc.url = "github:oar-team/nixos-compose";
  };

  outputs =
    { self, nixpkgs, nxc }:
    let
      system = "x86_64-linux";
    in
    {
      # One package per "<composition>::<flavour>": `nxc build -f docker` builds
      # packages.${system}."composition::docker" (the compose info of that flavour).
      packages.${system} = nxc.lib.compose {
        inherit nixpkgs system;
        composition = ./composition.nix;
      };
    };
}
