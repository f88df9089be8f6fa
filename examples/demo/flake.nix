{
  description = "nxc demo: an HTTP server and a client that reaches it by hostname";

  inputs = {
    # Real projects pin nixpkgs; the offline demo is built against nxc's test OS instead
    # (package.json#nxc.nix.overrideInputs replaces this input).
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-23.05";
    # nxc's Nix library, from this repository. `nxc build` replaces this input with its
    # generated copy, .nxc/nixlib (the library plus the installed flavours' NixOS modules).
    nxc.url = "path:../../nix";
  };

  outputs = { self, nixpkgs, nxc }:
    let
      system = "x86_64-linux";
    in
    {
      packages.${system} = nxc.lib.compose {
        inherit nixpkgs system;
        composition = ./composition.nix;
      };
    };
}
