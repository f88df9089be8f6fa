# Builtins-only helpers (no nixpkgs.lib: the library must also run on the test OS).
let
  inherit (builtins) attrNames concatMap filter genList getAttr hasAttr isAttrs isFunction
    isList isPath isString length listToAttrs map mapAttrs typeOf;
in
rec {
  imageKinds = [ "docker" "ramdisk" "vm" "remote-store" "tarball" ];

  optionalAttrs = cond: set: if cond then set else { };
  importIfPath = x: if isPath x || (isString x && builtins.substring 0 1 x == "/") then import x else x;

  /* A flavour, from nxc's index ({ name, image = "ramdisk"; module; ... }) or from the
     original nxc's flavour sets ({ name, image = { type; distribution; }; module; }). */
  normalizeFlavour = name: f:
    let
      img = f.image or { };
      kind =
        if isString img then img
        else img.type or (if (img.distribution or "") == "all-in-one" then "ramdisk" else "docker");
    in
    if !(builtins.elem kind imageKinds) then
      throw "nxc: flavour ${name}: unknown image kind \"${kind}\" (expected one of: ${builtins.concatStringsSep ", " imageKinds})"
    else {
      name = f.name or name;
      image = kind;
      description = f.description or "";
      distribution = f.distribution or (if isAttrs img && img ? distribution then img.distribution
        else if kind == "docker" then "per-role" else "all-in-one");
      module = f.module or null;
      plugin = f.plugin or null;
    };

  normalizeFlavours = flavours:
    let set = importIfPath flavours;
    in if isList set then listToAttrs (map (f: { name = f.name; value = normalizeFlavour f.name f; }) set)
    else mapAttrs normalizeFlavour set;

  /* The original nxc's helpers: `makeManyById (id: conf) "node" 3` -> { node1 = conf 1; ...; node3 = conf 3; },
     `makeMany conf "node" 3` -> { node1 = conf; node2 = conf; node3 = conf; } */
  makeManyById = confById: name: count:
    listToAttrs (genList (i: { name = "${name}${toString (i + 1)}"; value = confById (i + 1); }) count);
  makeMany = conf: makeManyById (id: conf);

  /* More of the original nxc's helpers, same results:
     `mapListToAttrs (n: { ${n} = n + "-2"; }) [ "a" "b" ]` -> { a = "a-2"; b = "b-2"; }
     `mapAttrNamesToAttrs op attrs` = mapListToAttrs op (attrNames attrs)
     `mapAttrsToAttrs (n: v: { ${n + "2"} = v + 1; }) { a = 1; }` -> { a2 = 2; }
     (later results win on equal names, as in the original) */
  mapListToAttrs = op: list: builtins.foldl' (acc: x: acc // op x) { } list;
  mapAttrNamesToAttrs = op: attrs: mapListToAttrs op (attrNames attrs);
  mapAttrsToAttrs = op: attrs: builtins.foldl' (acc: n: acc // op n attrs.${n}) { } (attrNames attrs);

  /* The helpers a composition receives (`{ helpers, ... }:`): the original nxc's set, with
     `callPackage` bound to the composition's own package set. */
  compositionHelpers = pkgs: {
    inherit makeMany makeManyById mapListToAttrs mapAttrNamesToAttrs mapAttrsToAttrs;
    callPackage = pkgs.callPackage or (pkgs.lib.callPackageWith pkgs);
  };

  /* Two-level-or-more recursive merge of attrsets (nixpkgs' lib.recursiveUpdate). */
  recursiveUpdate = lhs: rhs:
    lhs // mapAttrs (n: v: if isAttrs v && isAttrs (lhs.${n} or null) then recursiveUpdate lhs.${n} v else v) rhs;

  /* The original nxc's `setup.toml` (path, or an already parsed set):
     - `[project] selected = "variant"` merges the table `[variant]` over the top-level ones
       (`project.selected` is "" when no variant is chosen);
     - `params` gets `override-params` merged over it;
     - `build.<pkg>.{src,attrs,args,deps}` and `overrides.<pkg>` (same keys, the original's older
       name) become overlays on nixpkgs: `src` a local path or `{ <fetcher> = { args }; }`.
     Result: the set the composition gets as `setup`, plus `overlays`. */
  readSetup = setup:
    let
      raw = if isAttrs setup then setup else builtins.fromTOML (builtins.readFile setup);
      where = if isAttrs setup then "setup" else toString setup;
      selected = raw.project.selected or "";
      sel =
        if selected == "" then recursiveUpdate raw { project.selected = ""; }
        else if hasAttr selected raw then recursiveUpdate raw raw.${selected}
        else throw "nxc: ${where}: [project] selected = \"${selected}\" but there is no [${selected}] table";
      params = optionalAttrs (sel ? params) { params = sel.params // (sel.override-params or { }); };
      srcOf = prev: src:
        if isString src then /. + src
        else if isAttrs src then
          let fetcher = builtins.head (attrNames src); in prev.${fetcher} src.${fetcher}
        else throw "nxc: ${where}: a package's `src` is a path or a { fetcher = { ... }; } table";
      depsOf = prev: deps: mapAttrs (n: path: builtins.foldl' (a: k: a.${k}) prev (split "[.]" path)) deps;
      split = sep: s: filter isString (builtins.split sep s);
      opOverlay = pkg: op: v: final: prev: {
        ${pkg} =
          if op == "src" then prev.${pkg}.overrideAttrs (old: { src = srcOf prev v; })
          else if op == "attrs" then prev.${pkg}.overrideAttrs (old: v)
          else if op == "args" then prev.${pkg}.override v
          else if op == "deps" then prev.${pkg}.override (depsOf prev v)
          else throw "nxc: ${where}: unknown operation `${op}` for package ${pkg} (expected src, attrs, args or deps)";
      };
      tableOverlays = table:
        concatMap (pkg:
          if pkg == "nur" then throw "nxc: ${where}: NUR package overrides are not supported; use an overlay in flake.nix"
          else map (op: opOverlay pkg op table.${pkg}.${op}) (attrNames table.${pkg}))
        (attrNames table);
    in
    sel // params // { overlays = tableOverlays (sel.overrides or { }) ++ tableOverlays (sel.build or { }); };
}
