# What NixOS's own modules do that nxc's modules depend on, written for the evaluation suite
# (facts from NixOS/nixpkgs, file named per item): the definitions nixpkgs makes itself (so
# that nxc's definitions meet them as on a real system), the assertions that turn a
# configuration into an evaluation error, and `system.build` values whose text forces every
# definition of the role (the suite reads them back: see `summary` below).
{ config, options, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkIf mkMerge mkOptionDefault;
  inherit (builtins) isAttrs isFunction isList mapAttrs toJSON;
  cfg = config;

  # A JSON-able copy of a value: derivations as their path, functions as a marker.
  plain = v:
    if isFunction v then "<function>"
    else if lib.isDerivation v then v.outPath
    else if isAttrs v then mapAttrs (_: plain) v
    else if isList v then map plain v
    else v;

  # nixos/modules/system/boot/systemd/initrd.nix: the scripted stage 1's hooks are refused.
  scriptedOnly = [
    [ "preFailCommands" ] [ "preDeviceCommands" ] [ "preLVMCommands" ] [ "postDeviceCommands" ]
    [ "postResumeCommands" ] [ "postMountCommands" ] [ "extraUdevRulesCommands" ]
    [ "extraUtilsCommands" ] [ "extraUtilsCommandsTest" ] [ "network" "postCommands" ]
  ];

  # nixos/modules/system/activation/top-level.nix
  failedAssertions = map (x: x.message) (lib.filter (x: !x.assertion) cfg.assertions);
  checked = x:
    if failedAssertions != [ ] then
      throw "\nFailed assertions:\n${lib.concatStringsSep "\n" (map (m: "- ${m}") failedAssertions)}"
    else lib.foldr (w: acc: lib.warn w acc) x cfg.warnings;

  fileSystems = lib.attrValues cfg.fileSystems;

  # Everything the role defines, forced and readable: the toplevel of the stand-in is a file
  # holding it (the compose info's `toplevel`/`init` point into that file's path).
  summary = plain (removeAttrs cfg [ "_module" "system" "nixpkgs" ]) // {
    system = plain (removeAttrs cfg.system [ "build" ]);
    nixpkgs = { inherit (cfg.nixpkgs) system; overlays = builtins.length cfg.nixpkgs.overlays; };
    # stage 1 (nixos/modules/system/boot/stage-1.nix): the kernel modules copied into the
    # initrd, and the firmware packages makeModulesClosure copies their firmware from.
    initrd = {
      modules = cfg.boot.initrd.availableKernelModules ++ cfg.boot.initrd.kernelModules;
      firmware = map (p: p.name) cfg.hardware.firmware;
      scripted = !cfg.boot.initrd.systemd.enable;
    };
  };
in
{
  config = mkMerge [
    {
      # nixos/modules/misc/nixpkgs.nix: hostPlatform follows the legacy `system`.
      nixpkgs.hostPlatform = mkOptionDefault cfg.nixpkgs.system;

      # nixos/modules/config/users-groups.nix
      users.users.root = {
        uid = 0;
        description = "System administrator";
        home = "/root";
        group = "root";
      };
      users.groups.root.gid = 0;
      users.groups.users.gid = 100;
      assertions = lib.concatLists (lib.mapAttrsToList (name: u: [
        {
          assertion = u.group != "";
          message = "users.users.${name}.group is unset. This used to default to\nnogroup, but this is unsafe.";
        }
        {
          assertion = name == "root" || (u.isNormalUser != u.isSystemUser);
          message = "Exactly one of users.users.${name}.isSystemUser and users.users.${name}.isNormalUser must be set.";
        }
      ]) cfg.users.users);

      # nixos/modules/config/networking.nix
      environment.etc.hosts.source = pkgs.writeText "hosts" "127.0.0.1 localhost\n::1 localhost\n";

      # nixos/modules/hardware/all-firmware.nix
      hardware.firmware = mkIf cfg.hardware.enableRedistributableFirmware [ pkgs.linux-firmware ];

    }
    {
      # nixos/modules/tasks/filesystems.nix, stage-1.nix, grub.nix
      assertions = [
        {
          assertion = !(lib.any (fs: fs.autoResize && !(lib.elem fs.fsType [ "ext3" "ext4" "btrfs" "xfs" ])) fileSystems);
          message = "Mountpoint with 'autoResize = true' on a file system that does not support it.";
        }
        {
          assertion = !cfg.boot.initrd.enable || lib.any (fs: fs.mountPoint == "/") fileSystems;
          message = "The ‘fileSystems’ option does not specify your root file system.";
        }
        {
          assertion = !cfg.boot.loader.grub.enable;
          message = "You must set the option ‘boot.loader.grub.devices’ or 'boot.loader.grub.mirroredBoots' to make the system bootable.";
        }
      ];

      system.build.kernel = cfg.boot.kernelPackages.kernel;
      system.build.initialRamdisk = pkgs.writeText "initrd-linux" (toJSON {
        inherit (summary) initrd;
        inherit (cfg.boot.initrd) postMountCommands extraUtilsCommands preLVMCommands postDeviceCommands;
      });
      system.build.toplevel = checked (pkgs.writeText "nixos-system-${cfg.nxc.role or "role"}" (toJSON summary));
    }

    # nixos/modules/system/boot/systemd/initrd.nix
    (mkIf cfg.boot.initrd.systemd.enable {
      assertions = map (name: {
        assertion = lib.attrByPath name (throw "impossible") cfg.boot.initrd == "";
        message = ''
          systemd stage 1 does not support 'boot.initrd.${lib.concatStringsSep "." name}'. Please
            convert it to analogous systemd units in 'boot.initrd.systemd'.
        '';
      }) scriptedOnly;
    })

    # nixos/modules/virtualisation/container-config.nix
    (mkIf cfg.boot.isContainer {
      boot.kernel.enable = false;
      documentation.nixos.enable = mkDefault false;
      networking.useHostResolvConf = mkDefault true;
      services.openssh.startWhenNeeded = mkDefault true;
      services.udev.enable = false;
      services.udisks2.enable = mkDefault false;
      powerManagement.enable = mkDefault false;
    })
  ];
}
