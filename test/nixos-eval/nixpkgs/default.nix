# The suite's stand-in for `import nixpkgs { system; overlays; }` (see pkgs.nix).
{ system ? "x86_64-linux", overlays ? [ ], config ? { }, ... }:
import ./pkgs.nix {
  lib = import (import ./lib-path.nix);
  inherit system overlays;
  era = let e = builtins.getEnv "NXC_EVAL_NIXPKGS_ERA"; in if e == "" then "current" else e;
}
