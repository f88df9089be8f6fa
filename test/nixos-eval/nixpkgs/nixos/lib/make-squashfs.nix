# Stand-in for nixpkgs' nixos/lib/make-squashfs.nix with its formal arguments (a call with an
# argument nixpkgs' does not take fails as it would): forces the store contents and the
# compressor; nothing is built.
{ lib, stdenv, squashfsTools, closureInfo
, fileName ? "squashfs"
, storeContents ? [ ]
, pseudoFiles ? [ ]
, comp ? "xz -Xdict-size 100%"
, noStrip ? false
}:
assert comp == null || builtins.isString comp;
builtins.deepSeq [ (map toString pseudoFiles) noStrip "${squashfsTools}" stdenv.isLinux ]
  (closureInfo { rootPaths = storeContents; }) // { name = "${fileName}.img"; }
