# The suite's stand-in for nixpkgs' nixos/lib/eval-config.nix: nixpkgs' real module system
# (lib.evalModules) over the typed option stand-ins (test/fixtures/testos/nixos/options.nix, $NXC_NIXOS_OPTIONS)
# and what NixOS's own modules do that nxc depends on (../modules/nixos-core.nix).
{ system ? "x86_64-linux", modules ? [ ], specialArgs ? { }, ... }:
let
  lib = import (import ../../lib-path.nix);
  # This folder is copied into the store as a whole (`"${nixpkgs}/nixos/..."`): files outside
  # it come by absolute path.
  options =
    let f = builtins.getEnv "NXC_NIXOS_OPTIONS"; in
    if f == "" then throw "NXC_NIXOS_OPTIONS is not set: point it at test/fixtures/testos/nixos/options.nix"
    else /. + f;
  evaluated = lib.evalModules {
    class = "nixos";
    specialArgs = { modulesPath = toString ../modules; } // specialArgs;
    modules = [
      options
      ../modules/nixos-core.nix
      ({ config, ... }: {
        _module.args = {
          pkgs = import ../.. { inherit system; overlays = config.nixpkgs.overlays; };
          utils = { };
        };
        nixpkgs.system = lib.mkDefault system;
      })
    ] ++ modules;
  };
in
{
  inherit (evaluated) config options;
  inherit (evaluated.config._module.args) pkgs;
  inherit lib;
  extendModules = evaluated.extendModules;
}
