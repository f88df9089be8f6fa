# Cases of nixpkgs' module system and lib functions that NixOS configurations rely on,
# evaluated with one `lib` (the test OS's or nixpkgs' own): module-system.test.ts runs both
# and compares. Each case is { ok, value } (ok = false: the evaluation failed).
{ libPath, only ? null }:
let
  lib = import libPath;
  inherit (lib) mkOption types mkIf mkMerge mkDefault mkForce mkOverride mkOptionDefault
    mkBefore mkAfter mkOrder mkImageMediaOverride mkVMOverride;

  eval = modules: (lib.evalModules { inherit modules; }).config;
  opt = type: default: mkOption { inherit type default; };
  fakeDrv = name: { type = "derivation"; inherit name; outPath = "/nix/store/00000000000000000000000000000000-${name}"; };

  cases = {
    priorities = eval [
      { options = lib.genAttrs [ "a" "b" "c" "d" "f" ] (n: opt types.str "default") // { e = mkOption { type = types.str; }; }; }
      { a = mkDefault "mkDefault"; b = mkForce "mkForce"; c = mkImageMediaOverride "image"; d = mkVMOverride "vm"; e = mkOptionDefault "optionDefault"; }
      { a = "plain"; b = "plain"; c = mkForce "force"; d = mkForce "force"; f = mkOverride 900 "900"; }
      { f = mkDefault "mkDefault"; }
    ];

    # lines join in mkOrder order, then module order (imports breadth first, merged in reverse)
    order = eval [
      { options.l = opt types.lines ""; options.xs = opt (types.listOf types.str) [ ]; }
      { l = "m1"; xs = [ "m1" ]; imports = [ { l = mkAfter "m1a-after"; xs = [ "m1a" ]; imports = [ { l = "m1aa"; xs = mkBefore [ "m1aa-before" ]; } ]; } { l = "m1b"; } ]; }
      { l = mkBefore "m2-before"; xs = [ "m2" ]; imports = [ { l = mkOrder 700 "m2a-700"; } ]; }
      { l = mkMerge [ "m3-1" (mkAfter "m3-after") (mkIf true "m3-if") (mkIf false "m3-no") ]; }
    ];

    # conditions may read config: mkIf is pushed into attribute sets before it is decided
    conditions = eval [
      { options.enable = opt types.bool false; options.services = opt (types.attrsOf (types.submodule { options.x = opt types.int 1; })) { }; options.n = opt types.int 0; }
      ({ config, ... }: { config = mkIf config.enable { services.a.x = 2; n = 3; }; })
      ({ config, ... }: { enable = true; services.b = mkIf (config.n == 3) { }; services.c = mkIf false { x = 9; }; })
    ];

    lazyAttrs = let c = eval [
      { options.l = opt (types.lazyAttrsOf types.int) { }; options.s = opt (types.attrsOf types.int) { }; }
      { l.a = 1; l.b = mkIf false 2; s.a = 1; s.b = mkIf false 2; }
    ]; in { lNames = builtins.attrNames c.l; sNames = builtins.attrNames c.s; la = c.l.a; };

    submodules = eval [
      {
        options.users = opt (types.attrsOf (types.submodule ({ name, config, ... }: {
          options = { name = opt types.str name; home = opt types.str "/home/${name}"; uid = opt (types.nullOr types.int) null; normal = opt types.bool false; group = opt types.str ""; };
          config = mkIf config.normal { group = mkDefault "users"; };
        }))) { };
      }
      { users.alice = { normal = true; uid = 1000; }; users.root.home = "/root"; }
      { users.alice = { config, ... }: { home = "/users/${config.name}"; }; }
    ];

    freeform = eval [
      { options.settings = opt (types.submodule { freeformType = types.attrsOf (types.oneOf [ types.bool types.int types.str ]); options.Port = opt types.port 22; }) { }; }
      { settings.PermitRootLogin = "no"; settings.X11 = false; }
      { settings.Port = 2222; }
    ];

    coercedTo = eval [
      { options.fs = opt (types.coercedTo (types.listOf types.str) (l: lib.genAttrs l (_: true)) (types.attrsOf types.bool)) { }; }
      { fs = [ "nfs" "ext4" ]; }
      { fs.vfat = false; }
    ];

    eitherAndNull = eval [
      { options.e = opt (types.either types.str (types.listOf types.str)) [ ]; options.n = opt (types.nullOr types.str) null; options.o = opt (types.oneOf [ types.int types.str ]) 0; }
      { e = [ "a" ]; o = "s"; }
      { e = [ "b" ]; }
    ];

    packages = eval [
      { options.p = mkOption { type = types.package; }; options.ps = opt (types.listOf types.package) [ ]; }
      { p = fakeDrv "hello"; ps = [ (fakeDrv "a") ]; }
      { ps = [ (fakeDrv "b") ]; }
    ];

    anything = eval [
      { options.a = opt types.anything { }; }
      { a = { x = 1; y.z = "s"; }; }
      { a = { y.w = true; l = [ 1 ]; }; }
    ];

    strings = eval [
      { options = { m = opt (types.strMatching "[a-z]+") "a"; n = opt types.nonEmptyStr "x"; c = opt types.commas ""; e = opt (types.enum [ "one" "two" ]) "one"; }; }
      { m = "abc"; c = "a"; e = "two"; }
      { c = "b"; }
    ];

    deferredArgs = eval [
      { options.v = opt types.str ""; options.w = opt types.str ""; }
      { _module.args.greeting = "hello"; }
      ({ greeting, ... }: { v = greeting; })
      ({ config, ... }: { w = config.v + "!"; })
    ];

    keysAndDisabled = eval [
      { options.l = opt (types.listOf types.str) [ ]; }
      { key = "k1"; l = [ "k1" ]; }
      { key = "k1"; l = [ "k1 again" ]; }
      { key = "k2"; l = [ "k2" ]; }
      { disabledModules = [ { key = "k2"; } ]; }
    ];

    redeclaredSubmodule = eval [
      { options.s = opt (types.attrsOf (types.submodule { options.a = opt types.int 1; })) { }; }
      { options.s = mkOption { type = types.attrsOf (types.submodule ({ config, ... }: { options.b = opt types.int (config.a + 1); })); }; }
      { s.x.a = 5; }
    ];

    derivedConfig = eval [
      ({ options, ... }: {
        options.text = opt (types.nullOr types.lines) null;
        options.source = opt types.str "";
        config.source = mkIf true (lib.mkDerivedConfig options.text (t: "from:${t}"));
      })
      { text = mkDefault "hello"; }
    ];

    # ---- errors: each must fail with both libs ----
    errUndeclared = eval [ { options.a = opt types.int 0; } { b = 1; } ];
    errUndeclaredInSubmodule = eval [ { options.s = opt (types.submodule { options.a = opt types.int 0; }) { }; } { s.b = 1; } ];
    errConflict = eval [ { options.a = opt types.str ""; } { a = "x"; } { a = "y"; } ];
    errType = eval [ { options.a = opt types.int 0; } { a = "x"; } ];
    errNested = eval [ { options.a = opt (types.listOf types.int) [ ]; } { a = [ 1 "x" ]; } ];
    errUnique = eval [ { options.p = mkOption { type = types.package; }; } { p = fakeDrv "a"; } { p = fakeDrv "b"; } ];
    errReadOnly = eval [ { options.r = mkOption { type = types.bool; default = true; readOnly = true; }; } { r = false; } ];
    errNoValue = eval [ { options.a = mkOption { type = types.str; }; } ];
    errEmptyList = eval [ { options.a = opt (types.nonEmptyListOf types.str) [ "x" ]; } { a = mkForce [ ]; } ];
    errNull = eval [ { options.n = opt (types.nullOr types.str) null; } { n = "a"; } { n = null; } ];
    errPort = eval [ { options.p = opt types.port 1; } { p = 70000; } ];
    errAnythingLists = eval [ { options.a = opt types.anything { }; } { a.l = [ 1 ]; } { a.l = [ 2 ]; } ];
    errMkIfNonBool = eval [ { options.a = opt types.int 0; } { a = mkIf "yes" 1; } ];

    # ---- lib functions ----
    functions = {
      escape = map lib.escapeShellArg [ "plain" "with space" "it's" "" "a=b" "/nix/store/x-y" "$HOME" ];
      escapeArgs = lib.escapeShellArgs [ "a" "b c" ];
      binPath = lib.makeBinPath [ (fakeDrv "a") { outPath = "/b"; bin = "/b-bin"; } ];
      searchPath = lib.makeSearchPathOutput "bin" "sbin" [ (fakeDrv "a") ];
      toposort = lib.toposort (a: b: a < b) [ 3 1 2 5 4 ];
      toposortCycle = (lib.toposort (a: b: true) [ 1 2 ]) ? cycle;
      recursiveUpdate = lib.recursiveUpdate { a.b = 1; a.c = 2; d = 3; } { a.b = 10; e = 4; };
      filterAttrs = lib.filterAttrs (n: v: v > 1) { a = 1; b = 2; c = 3; };
      split = lib.splitString "," "a,b,,c";
      infix = [ (lib.hasInfix "b.c" "ab.cd") (lib.hasInfix "x" "abc") ];
      prefixes = [ (lib.removePrefix "/nix" "/nix/store") (lib.removeSuffix ".service" "a.service") (lib.hasSuffix "x" "") ];
      lists = [ (lib.unique [ 1 2 1 3 2 ]) (lib.flatten [ 1 [ 2 [ 3 ] ] ]) (lib.take 2 [ 1 2 3 ]) (lib.drop 1 [ 1 2 3 ]) (lib.last [ 1 2 ]) (lib.init [ 1 2 ]) (lib.reverseList [ 1 2 3 ]) (lib.range 2 5) ];
      imap = [ (lib.imap0 (i: x: i + x) [ 10 20 ]) (lib.imap1 (i: x: i + x) [ 10 20 ]) ];
      attrs = [ (lib.mapAttrsToList (n: v: n + v) { a = "1"; b = "2"; }) (lib.attrByPath [ "a" "b" ] 0 { a.b = 7; }) (lib.setAttrByPath [ "x" "y" ] 1) (lib.genAttrs [ "p" "q" ] (n: n)) (lib.zipAttrs [ { a = 1; } { a = 2; b = 3; } ]) ];
      strings = [ (lib.concatMapStringsSep "," toString [ 1 2 ]) (lib.optionalString true "y") (lib.toUpper "abc") (lib.concatLines [ "a" "b" ]) (lib.versionAtLeast "6.1.0" "5.9") (lib.versionOlder "5.4" "5.10") ];
      showOption = lib.showOption [ "fileSystems" "/" "device" ];
      isStorePath = [ (lib.isStorePath "/nix/store/00000000000000000000000000000000-a") (lib.isStorePath "/nix/store/00000000000000000000000000000000-a/bin") ];
      releaseIsString = builtins.isString lib.trivial.release;
      # `extend` rebuilds the set: the module system hands modules the extended lib
      extended = let l = lib.extend (final: prev: { answer = 42; }); in
        (l.evalModules { modules = [ { options.a = l.mkOption { type = l.types.int; }; } ({ lib, ... }: { a = lib.answer; }) ]; }).config.a;
    };
  };

  run = v: let r = builtins.tryEval (builtins.deepSeq v v); in if r.success then { ok = true; value = r.value; } else { ok = false; };
in
if only != null then builtins.deepSeq cases.${only} true
else builtins.mapAttrs (n: run) cases
