# ramdisk (vm-ramdisk, g5k-ramdisk): one kernel + ONE initrd = the stage-1 initrd followed by
# an uncompressed cpio holding /nix-store.squashfs, a squashfs image of every role's closure
# (as NixOS's netboot image). Stage 1 loop-mounts it read-only under a tmpfs overlay
# (nix/modules/store.nix, kind `initramfs`); the node keeps running from memory.
#
# Why squashfs: the kernel unpacks an initramfs into a tmpfs capped at half of the RAM left,
# so a closure of 1 GB unpacked file by file needs well over 2 GB; the squashfs image stays
# compressed in memory and is read through the page cache.
args@{ nixpkgs, pkgs, compositionName, ... }:
let
  aio = import ./all-in-one.nix args;
  # zstd: measured against gzip, xz and lz4 (docs/nixos-fidelity.md) as the fastest to build
  # at a size close to gzip's, and fast to read; the Debian and NixOS kernels have
  # SQUASHFS_ZSTD. nixpkgs' default, xz, is several times slower to build.
  squashfsStore = pkgs.callPackage "${nixpkgs}/nixos/lib/make-squashfs.nix" {
    fileName = "nxc-store-${compositionName}";
    storeContents = aio.toplevels ++ [ aio.init ];
    comp = "zstd -Xcompression-level 3";
  };
  # The image is already compressed: the cpio around it is not. The kernel finds an
  # uncompressed cpio only at a 4-byte aligned offset: the (compressed) stage-1 initrd before
  # it is padded. The image goes in as a file, not as a store path with its closure:
  # compressed bytes can look like store path hashes to Nix's reference scanner.
  initrd = pkgs.runCommand "nxc-ramdisk-${compositionName}" { nativeBuildInputs = [ pkgs.cpio ]; } ''
    mkdir -p $out store
    cat ${aio.stage1Initrd} > $out/initrd
    size=$(wc -c < $out/initrd)
    head -c $(( (4 - size % 4) % 4 )) /dev/zero >> $out/initrd
    cp ${squashfsStore} store/nix-store.squashfs
    (cd store && echo nix-store.squashfs | cpio -o -H newc -R 0:0) >> $out/initrd
  '';
in
{
  all = {
    kernel = aio.kernel;
    initrd = "${initrd}/initrd";
    cmdline = aio.cmdline;
    init = "${aio.init}";
    roles_map = "${aio.roleMap}";
  };
}
