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
}
