{
  description = "nxc project (dfs template)";

  inputs = {
    # The NixOS release your roles are built from.
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    # nxc's Nix library: the `nix/` folder shipped in the npm package @nxc/core, here the
    # tarball of the version that ran `nxc init`. `nxc build` always replaces this input
    # with its generated copy, .nxc/nixlib (that library plus the NixOS modules of the
    # flavours installed in node_modules), so this URL matters only for plain `nix build`.
    nxc.url = "https://registry.npmjs.org/@nxc/core/-/core-@NXC_CORE_VERSION@.tgz?dir=nix";
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
