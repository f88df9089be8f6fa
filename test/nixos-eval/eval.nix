# Entry point of the NixOS evaluation suite (nixos-eval.test.ts runs it with
# `nix-instantiate --eval --strict --json`): nxc's own `lib.compose` over a composition and the
# project's flavours, with
#   - the stand-in nixpkgs (./nixpkgs: nixpkgs' real lib, typed option stand-ins, what
#     NixOS's own modules define): every role's configuration is forced and read back;
#   - or a full nixpkgs (`full = true`): every compose info is instantiated (its drvPath),
#     which forces every definition through nixpkgs' real modules.
{ repo                 # the nxc checkout (a path)
, flavoursFile         # JSON { <name>: { image, description, distribution, module } } from the plugins
, nixpkgs ? ./nixpkgs
, full ? false
, composition ? null
, compositions ? null
, setup ? null
, extraModules ? [ ]
, only ? null          # one flavour name
}:
let
  inherit (builtins) mapAttrs pathExists;
  # Texts that name store paths carry context, which fromJSON refuses; only the text matters here.
  readFile = p: builtins.unsafeDiscardStringContext (builtins.readFile p);
  fromJSON = builtins.fromJSON;
  nxc = import (repo + "/nix/lib");
  declared = fromJSON (readFile flavoursFile);
  flavours = mapAttrs (name: f: f // { module = if f.module or null == null then null else /. + f.module; }) declared;
  nixpkgsPath = if builtins.isString nixpkgs then /. + nixpkgs else nixpkgs;
  out = nxc.compose ({
    nixpkgs = nixpkgsPath;
    inherit extraModules;
    flavours = if only == null then flavours else { ${only} = flavours.${only}; };
  }
  // (if composition != null then { inherit composition; } else { })
  // (if compositions != null then { inherit compositions; } else { })
  // (if setup != null then { inherit setup; } else { }));

  # Stand-in: the compose info and every role's evaluated configuration (the stand-in's
  # toplevel is a file holding it), plus the texts nxc generated for the images.
  readBack = info:
    let
      all = info.all or { };
      text = p: if pathExists p then readFile p else null;
    in
    {
      inherit info;
      roles = mapAttrs (r: x: fromJSON (readFile x.toplevel)) info.roles;
      init = if all ? init then text all.init else null;
      roles_map = if all ? roles_map then fromJSON (readFile all.roles_map) else null;
    };
in
if full then
  if !(pathExists (nixpkgsPath + "/nixos/lib/eval-config.nix")) then
    throw "NXC_NIXPKGS=${toString nixpkgs} is not a nixpkgs checkout (no nixos/lib/eval-config.nix)"
  else mapAttrs (name: drv: drv.drvPath) out
else mapAttrs (name: drv: readBack (fromJSON (readFile drv.outPath))) out
