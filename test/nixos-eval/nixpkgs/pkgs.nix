# Stand-in packages for the NixOS evaluation suite: attribute names that exist in nixpkgs,
# as derivation-shaped values (nothing is built). Text writers (writeText, writeScript, ...)
# write their text into the store with builtins.toFile, so that the suite can read what nxc
# generates (the all-in-one init, the compose info) and that forcing a file forces its text.
#
# `era` picks which names exist, to check nxc against both sides of nixpkgs' renames:
#   "current": nixpkgs with aliases off (allowAliases = false): only the new names;
#   "older":   a nixpkgs from before the renames: only the old names.
{ lib, system ? "x86_64-linux", overlays ? [ ], era ? "current" }:
let
  inherit (builtins) hashString substring toFile;
  hash = s: substring 0 32 (hashString "sha256" s);

  # `layout`: which executables the package has under bin/ and sbin/ (the suite checks that
  # the boot PATH covers both, as nixpkgs' busybox keeps `ip` in sbin/).
  # overrideAttrs / override give a package named `<name>-overridden` (the suite looks for it).
  mkDrv = name: extra:
    let
      outPath = "/nix/store/${hash name}-${name}";
      self = {
        type = "derivation";
        inherit name outPath;
        drvPath = "/nix/store/${hash "drv:${name}"}-${name}.drv";
        outputs = [ "out" ];
        outputName = "out";
        meta = { };
        overrideAttrs = f: builtins.seq (if builtins.isFunction f then f self else f) (mkDrv "${name}-overridden" { });
        override = args: builtins.seq args (mkDrv "${name}-overridden" { });
      } // extra;
    in
    self;
  pkg = name: mkDrv name { };

  # Store names allow [A-Za-z0-9+._?=-]: the text writers' names come from users.
  storeName = name: lib.strings.sanitizeDerivationName name;
  textFile = name: text: mkDrv name { outPath = toFile (storeName name) text; inherit text; };

  # Executables per directory for packages whose layout the suite checks.
  busyboxSbin = [ "ip" "ifconfig" "route" "hostname" "udhcpc" "switch_root" "modprobe" "insmod" "init" ];
  busyboxBin = [ "sh" "ash" "mount" "umount" "ls" "cat" "grep" "sed" "awk" "sort" "head" "tail" "mkdir" "mv"
    "cp" "ln" "wget" "base64" "gzip" "sleep" "echo" "readlink" "chmod" "printf" ];

  common = [ "bash" "bindfs" "coreutils" "cpio" "curl" "e2fsprogs" "gawk" "glibc" "gnugrep" "gnused" "gnutar"
    "glusterfs" "gzip" "hello" "iproute2" "iputils" "jq" "k3s" "kmod" "linux-firmware" "nfs-utils" "nix" "nginx" "openssh"
    "pixz" "python3" "socat" "squashfsTools" "sudo" "systemd" "util-linux" "wget" "xfsprogs" "xz" "zstd" ];
  renamed = {
    # NixOS/nixpkgs: pkgs/top-level/aliases.nix `nettools = net-tools;`
    current = [ "net-tools" ];
    older = [ "nettools" ];
  }.${era};

  # A kernel as boot.kernelPackages' `apply` (nixos/modules/system/boot/kernel.nix) uses it:
  # `features`, `target` (system.boot.loader.kernelFile's default) and `override` taking a
  # function of the original arguments; the stand-in's override keeps the kernel as it is.
  mkKernel = name: version: modDirVersion:
    let
      self = mkDrv name {
        inherit version modDirVersion;
        target = "bzImage";
        features = { };
        override = f: builtins.seq (if builtins.isFunction f then f { kernelPatches = [ ]; } else f) self;
      };
    in
    self;
  kernel = mkKernel "linux-6.12" "6.12" "6.12.0";
  # pkgs/os-specific/linux/kernel: linuxPackagesFor gives an extensible set (`.extend`).
  kernelPackagesFor = k: lib.makeExtensible (self: { kernel = k; inherit (k) version; });

  base = lib.genAttrs (common ++ renamed) pkg // {
    inherit lib system;
    path = ./.;
    stdenv = { hostPlatform = lib.systems.elaborate system; isLinux = true; };
    busybox = mkDrv "busybox-1.36.1" { layout = { bin = busyboxBin; sbin = busyboxSbin; }; };
    shadow = mkDrv "shadow-4.16" { shellPath = "/bin/nologin"; };
    runtimeShell = "${base.bash}/bin/bash";
    linuxPackages = kernelPackagesFor kernel;
    linuxPackages_latest = kernelPackagesFor (mkKernel "linux-6.18.1" "6.18.1" "6.18.1");
    python3Packages = lib.genAttrs [ "pyyaml" "requests" ] pkg;

    writeText = textFile;
    writeTextFile = { name, text, executable ? false, destination ? "", ... }: textFile name text;
    writeTextDir = path: text: textFile (baseNameOf path) text;
    writeScript = textFile;
    writeScriptBin = name: text: textFile name text;
    writeShellScript = name: text: textFile name "#!${base.runtimeShell}\n${text}";
    writeShellScriptBin = name: text: textFile name "#!${base.runtimeShell}\n${text}";
    writers = {
      writeBashBin = name: text: textFile name text;
      writePython3Bin = name: { libraries ? [ ], ... }: text:
        builtins.deepSeq (map toString libraries) (textFile name text);
    };
    runCommand = name: env: script: builtins.seq (builtins.stringLength script) (mkDrv name { });
    runCommandLocal = base.runCommand;
    symlinkJoin = { name, paths, ... }: builtins.deepSeq (map toString paths) (mkDrv name { });
    # `paths` kept readable for the suite (hardware.firmware's value is such a buildEnv).
    buildEnv = { name, paths, ... }: builtins.deepSeq (map toString paths) (mkDrv name { inherit paths; });
    # nixpkgs' formal arguments (pkgs/build-support/kernel/make-initrd.nix)
    makeInitrd = { name ? "initrd", compressor ? "gzip", compressorArgs ? null, extension ? null, contents,
      prepend ? [ ], makeUInitrd ? false, uInitrdArch ? null, uInitrdCompression ? null }:
      builtins.deepSeq (map (c: assert c ? object && c ? symlink; "${c.object}${c.symlink}") contents)
        (builtins.deepSeq (map toString prepend) (mkDrv name { }));
    # pkgs/build-support/closure-info.nix: { rootPaths } -> store-paths, registration, total-nar-size
    closureInfo = { rootPaths }: builtins.deepSeq (map toString rootPaths) (mkDrv "closure-info" { });
  };

  # Overlays as nixpkgs applies them: final: prev: { ... }.
  # callPackage fills a function's arguments from the final set, as nixpkgs' does.
  applied = lib.fix (lib.foldl' (acc: overlay: lib.extends overlay acc)
    (self: base // { callPackage = lib.callPackageWith self; }) overlays);
in
applied
