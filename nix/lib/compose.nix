# lib.compose: compositions x flavours -> one compose info JSON per "<composition>::<flavour>".
#
# Each role is a NixOS configuration evaluated with `${nixpkgs}/nixos/lib/eval-config.nix`
# from: nxc's module (options nxc.*), the role's module, the flavour's module, extraModules.
# The flavour's image kind (images/<kind>.nix) turns the role systems into artifacts.
{ installedFlavours, bootScript, helpers }:
{ nixpkgs
, system ? "x86_64-linux"
, composition ? null
, compositions ? null
, single_composition_name ? "composition"
, flavours ? null
, flavour ? null
, extraModules ? [ ]
, extraConfigurations ? [ ] # the original nxc's name for extraModules
, overlays ? [ ]
, setup ? null # the original nxc's setup.toml (path) or the same as a set
, ...
}:
let
  inherit (builtins) attrNames concatMap filter hasAttr isFunction isString listToAttrs map mapAttrs toJSON;
  inherit (helpers) optionalAttrs importIfPath normalizeFlavours;

  setupSet = if setup == null then { project.selected = ""; overlays = [ ]; } else helpers.readSetup setup;
  allOverlays = overlays ++ setupSet.overlays;
  pkgs = import nixpkgs { inherit system; overlays = allOverlays; };
  compositionHelpers = helpers.compositionHelpers pkgs;
  modulesPath = "${nixpkgs}/nixos/modules";
  evalConfig = import "${nixpkgs}/nixos/lib/eval-config.nix";
  # nxc.disks of one role -> [ { id, size, bytes } ], checked: size syntax, id syntax, unique ids.
  normalizeDisks = compositionName: role: disks:
    let
      where = "nxc: composition ${compositionName}, role ${role}: nxc.disks";
      units = { "" = 1; K = 1024; M = 1048576; G = 1073741824; T = 1099511627776; };
      one = i: d:
        let
          id = if d.id == null then "disk${toString i}" else d.id;
          m = builtins.match "([1-9][0-9]{0,12})([KMGT]?)" d.size;
        in
        if m == null then throw "${where}: disk ${id}: size \"${d.size}\" is not a size (write a positive integer with an optional K, M, G or T suffix, e.g. \"4G\")"
        else if builtins.match "[A-Za-z0-9_-]{1,20}" id == null then throw "${where}: disk id \"${id}\" is not valid (1 to 20 letters, digits, '_' or '-')"
        else
          let n = builtins.fromJSON (builtins.elemAt m 0); unit = units.${builtins.elemAt m 1}; in
          # JSON readers keep integers exact up to 2^53 - 1
          if n > builtins.div 9007199254740991 unit then throw "${where}: disk ${id}: size \"${d.size}\" is too large"
          else { inherit id; size = d.size; bytes = n * unit; };
      list = builtins.genList (i: one i (builtins.elemAt disks i)) (builtins.length disks);
      ids = map (d: d.id) list;
      dup = filter (id: builtins.length (filter (x: x == id) ids) > 1) ids;
    in
    if dup != [ ] then throw "${where}: disk id \"${builtins.head dup}\" is declared twice (ids must be unique in a role)"
    else list;
  sharedModules = if builtins.pathExists ../modules/default.nix then [ ../modules ] else [ ];

  compositionSet =
    if compositions != null then importIfPath compositions
    else if composition != null then { ${single_composition_name} = composition; }
    else throw "nxc.lib.compose: give `composition = ./composition.nix;` or `compositions = ./compositions.nix;`";

  allFlavours = normalizeFlavours (if flavours != null then flavours else installedFlavours);
  selectedFlavours =
    if flavour == null then allFlavours
    else let name = if isString flavour then flavour else flavour.name; in
      if hasAttr name allFlavours then { ${name} = allFlavours.${name}; }
      else throw "nxc.lib.compose: flavour ${name} is not installed (installed: ${builtins.concatStringsSep ", " (attrNames allFlavours)})";

  # A role module without its top-level `virtualisation` definitions. A function keeps the
  # arguments the module system gives modules (it passes those a function names).
  dropVirtualisation = module:
    let
      strip = m:
        if m ? config || m ? options then m // { config = removeAttrs (m.config or { }) [ "virtualisation" ]; }
        else removeAttrs m [ "virtualisation" ];
      m = importIfPath module;
    in
    if isFunction m then
      ({ config, options, lib, pkgs, modulesPath, utils, ... }@args: strip (m args))
    else strip m;

  images = {
    docker = import ./images/docker.nix;
    ramdisk = import ./images/ramdisk.nix;
    vm = import ./images/vm.nix;
    remote-store = import ./images/remote-store.nix;
    tarball = import ./images/tarball.nix;
  };

  buildOne = compositionName: compositionValue: fl:
    let
      compFn = importIfPath compositionValue;
      spec =
        if isFunction compFn then compFn {
          inherit pkgs system modulesPath;
          helpers = compositionHelpers;
          lib = pkgs.lib;
          flavour = fl;
          setup = setupSet;
          nur = { };
        }
        else compFn;
      roles = spec.roles or spec.nodes
        or (throw "nxc: composition ${compositionName} has no `roles` (or `nodes`) attribute");

      # Containers have no virtualisation of their own: like the original nxc, the docker
      # flavour drops the top-level `virtualisation` definitions of roles written for VMs
      # (virtualisation.docker, .memorySize, ...).
      forFlavour = module: if fl.image == "docker" then dropVirtualisation module else module;

      evalRole = role: module: evalConfig {
        inherit system;
        modules = [
          ./nxc-module.nix
          {
            nxc = {
              inherit role bootScript;
              composition = compositionName;
              flavour = { inherit (fl) name image description distribution; };
            };
            nixpkgs.overlays = allOverlays;
          }
          (forFlavour module)
        ]
        # The flavour's module and nxc's shared NixOS modules (nix/modules), under one key.
        ++ [ { key = "nxc-flavour-module:${fl.name}"; imports = (if fl.module == null then [ ] else [ fl.module ]) ++ sharedModules; } ]
        ++ extraModules ++ extraConfigurations;
      };
      systems = mapAttrs evalRole roles;

      testScript = pkgs.writeText "test-script" (spec.testScript or "");
      artifacts = images.${fl.image} {
        inherit nixpkgs pkgs systems compositionName bootScript;
        flavour = fl;
      };
      info = {
        nxc_compose_info = 1;
        composition = compositionName;
        flavour = { inherit (fl) name image description; };
        inherit system;
        roles = mapAttrs (r: s: {
          init = "${s.config.system.build.toplevel}/init";
          toplevel = "${s.config.system.build.toplevel}";
        } // (
          let disks = normalizeDisks compositionName r (s.config.nxc.disks or [ ]); in
          optionalAttrs (disks != [ ]) { inherit disks; }
        )) systems;
        all = artifacts.all;
        # Composition attributes of the original nxc's docker flavour reach the deploy side.
        extra =
          let a = artifacts.extra or { }; in
          if fl.image == "docker" then
            a // { docker = (a.docker or { }) // {
              extraVolumes = spec.extraVolumes or [ ];
              dockerPorts = spec.dockerPorts or { };
            }; }
          else a;
      }
      // optionalAttrs (spec ? rolesDistribution) { roles_distribution = spec.rolesDistribution; }
      // optionalAttrs (spec ? testScript) { test_script = "${testScript}"; }
      # Declared network conditions between roles/nodes, applied by `nxc start` once the
      # nodes are up (checked there against the deployment: see docs/network.md).
      // optionalAttrs (spec ? network) (
        if !builtins.isList spec.network
        then throw "nxc: composition ${compositionName}: `network` must be a list of { from; to; delay/jitter/loss/rate/partition; } sets"
        else optionalAttrs (spec.network != [ ]) { inherit (spec) network; }
      );
    in
    pkgs.writeText "compose-info-${compositionName}-${fl.name}.json" (toJSON info);
in
listToAttrs (concatMap
  (c: map (f: { name = "${c}::${f}"; value = buildOne c compositionSet.${c} selectedFlavours.${f}; }) (attrNames selectedFlavours))
  (attrNames compositionSet))
