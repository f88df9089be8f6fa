{
  description = "nxc demo: an HTTP server and a client that reaches it by hostname";

  inputs = {
    # Real projects pin nixpkgs; the offline demo is built against nxc's test OS instead
    # (package.json#nxc.nix.overrideInputs replaces this input).
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-23.05";
    # `nxc build` replaces this input with its generated copy of the library (.nxc/nixlib).
    nxc.url = "github:oar-team/nixos-compose";
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
