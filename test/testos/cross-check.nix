# One flavour's demo, evaluated by the test OS whose folder is `testos` (cross-check.test.ts
# passes the test OS itself, and a copy whose lib.nix is nixpkgs' real lib): the compose info's
# derivation (it depends on every role's system, stage 1 and image) and, per role, the whole
# evaluated configuration as JSON, to say where two evaluations differ.
{ repo, testos, flavoursFile, flavour }:
let
  inherit (builtins) isAttrs isFunction isList isPath mapAttrs removeAttrs;
  readFile = p: builtins.unsafeDiscardStringContext (builtins.readFile p);
  declared = (builtins.fromJSON (readFile flavoursFile)).${flavour};
  fl = declared // { module = /. + declared.module; };
  nxc = import (repo + "/nix/lib");
  composition = repo + "/examples/demo/composition.nix";
  # lib.trivial.release (the default of system.stateVersion) is the libs' own version
  pin = { system.stateVersion = "cross-check"; };

  composed = nxc.compose {
    nixpkgs = testos;
    inherit composition;
    flavours = { ${flavour} = fl; };
    extraModules = [ pin ];
  };

  # The roles evaluated with the modules lib.compose gives them (nix/lib/compose.nix).
  pkgs = import testos { };
  roles = (import composition { inherit pkgs; lib = pkgs.lib; }).roles;
  evalRole = role: module: import (testos + "/nixos/lib/eval-config.nix") {
    modules = [
      (repo + "/nix/lib/nxc-module.nix")
      {
        nxc = {
          inherit role;
          bootScript = repo + "/nix/boot/nxc-boot.sh";
          composition = "composition";
          flavour = { inherit (fl) name image description distribution; };
        };
        nixpkgs.overlays = [ ];
      }
      module
      { key = "nxc-flavour-module:${flavour}"; imports = [ fl.module (repo + "/nix/modules") ]; }
      pin
    ];
  };

  # JSON-able: derivations as their store path, functions as a marker
  plain = v:
    if isFunction v then "<function>"
    else if isAttrs v && v.type or null == "derivation" then v.outPath
    else if isAttrs v then mapAttrs (_: plain) v
    else if isList v then map plain v
    else if isPath v then toString v
    else v;

  # nixpkgs.hostPlatform: nixpkgs' platform data (lib.systems), of which the test OS gives
  # only what NixOS's modules read; those are compared
  platform = p: { inherit (p) system config isLinux isx86_64 isAarch64 is64bit isStatic; };
  summary = config: plain (removeAttrs config [ "system" "nixpkgs" ]) // {
    nixpkgs = plain (removeAttrs config.nixpkgs [ "hostPlatform" ]) // { hostPlatform = platform config.nixpkgs.hostPlatform; };
    system = plain (removeAttrs config.system [ "build" ]) // {
      build = mapAttrs (n: d: d.drvPath) (builtins.intersectAttrs
        { toplevel = null; initialRamdisk = null; kernel = null; extraUtils = null; runner = null; }
        config.system.build);
    };
  };
in
{
  compose = composed."composition::${flavour}".drvPath;
  roles = mapAttrs (r: m: summary (evalRole r m).config) roles;
}
