# What NixOS's own modules do that nxc's modules depend on, written for the evaluation suite
# (facts from NixOS/nixpkgs, file named per item): the definitions nixpkgs makes itself (so
# that nxc's definitions meet them as on a real system), the assertions that turn a
# configuration into an evaluation error, and `system.build` values whose text forces every
# definition of the role (the suite reads them back: see `summary` below).
{ config, options, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkIf mkMerge;
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
    # initrd, and the firmware packages makeModulesClosure copies their firmware from (the
    # value of hardware.firmware is one buildEnv of them: see options.nix).
    initrd = {
      modules = cfg.boot.initrd.availableKernelModules ++ cfg.boot.initrd.kernelModules;
      firmware = map (p: p.name) cfg.hardware.firmware.paths;
      scripted = !cfg.boot.initrd.systemd.enable;
    };
  };
in
{
  # Services of nixpkgs used by nxc's templates and declared by neither nxc nor the test OS
  # (which refuses them: the test OS cannot run them), with nixpkgs' types and defaults.
  # nixos/modules/services/network-filesystems/glusterfs.nix (the dfs template)
  options.services.glusterfs.enable = lib.mkOption {
    type = lib.types.bool;
    default = false;
  };

  config = mkMerge [
    # nixos/modules/services/network-filesystems/glusterfs.nix: glusterd as a systemd service
    (mkIf cfg.services.glusterfs.enable {
      environment.systemPackages = [ pkgs.glusterfs ];
      systemd.services.glusterd = {
        wantedBy = [ "multi-user.target" ];
        after = [ "network.target" ];
        serviceConfig.ExecStart = "${pkgs.glusterfs}/sbin/glusterd --no-daemon";
      };
    })
    {
      # nixos/modules/config/users-groups.nix (2025): the accounts and groups NixOS defines
      # (ids from nixos/modules/misc/ids.nix) and the assertions a composition's users meet.
      users.users.root = {
        uid = 0;
        description = "System administrator";
        home = "/root";
        group = "root";
      };
      users.users.nobody = {
        uid = 65534;
        isSystemUser = true;
        description = "Unprivileged account (don't use!)";
        group = "nogroup";
      };
      users.groups = {
        root.gid = 0;
        wheel.gid = 1;
        users.gid = 100;
        nixbld.gid = 30000;
        nogroup.gid = 65534;
      };
      assertions =
        let
          users = lib.attrValues cfg.users.users;
          unique = ids: lib.length ids == lib.length (lib.unique ids);
          groupNames = lib.mapAttrsToList (n: g: g.name) cfg.users.groups;
          withoutGroup = lib.filter (u: u.group != "" && !lib.elem u.group groupNames) users;
          nameRegex = "[a-zA-Z0-9_.][a-zA-Z0-9_.-]*";
        in
        [
          {
            assertion = unique (lib.filter (i: i != null) (map (u: u.uid) users))
              && unique (lib.filter (i: i != null) (lib.mapAttrsToList (n: g: g.gid) cfg.users.groups));
            message = "UIDs and GIDs must be unique!";
          }
          {
            assertion = withoutGroup == [ ];
            message = "The following users have a primary group that is undefined: ${lib.concatMapStringsSep " " (u: u.name) withoutGroup}";
          }
        ]
        ++ lib.concatMap (u: [
          {
            assertion = builtins.match nameRegex u.name != null;
            message = "The username \"${u.name}\" is not valid, it does not match the regex \"${nameRegex}\".";
          }
          {
            assertion = u.isNormalUser && u.uid != null -> u.uid >= 1000;
            message = "A user cannot have a users.users.${u.name}.uid set below 1000 and set users.users.${u.name}.isNormalUser.";
          }
          {
            assertion = lib.xor (u.isSystemUser || (u.uid != null && u.uid < 1000 && !u.isNormalUser)) u.isNormalUser;
            message = "Exactly one of users.users.${u.name}.isSystemUser and users.users.${u.name}.isNormalUser must be set.";
          }
          {
            assertion = u.group != "";
            message = "users.users.${u.name}.group is unset. This used to default to\nnogroup, but this is unsafe.";
          }
        ]) users;

      # nixos/modules/config/networking.nix
      environment.etc.hosts.source = pkgs.writeText "hosts" "127.0.0.1 localhost\n::1 localhost\n";

      # nixos/modules/hardware/all-firmware.nix
      hardware.firmware = mkIf cfg.hardware.enableRedistributableFirmware [ pkgs.linux-firmware ];

    }
    {
      # nixos/modules/tasks/filesystems.nix (2025), stage-1.nix, grub.nix
      assertions = [
        {
          assertion = !(lib.any (fs: fs.autoResize && !(lib.elem fs.fsType [ "ext3" "ext4" "btrfs" "xfs" ])) fileSystems);
          message = "Mountpoint with 'autoResize = true': 'autoResize = true' is not supported for its fsType.";
        }
      ] ++ map (fs: {
        assertion = fs.label != null -> fs.device == "/dev/disk/by-label/${fs.label}";
        message = "The filesystem with mount point ${fs.mountPoint} has its label and device set to inconsistent values.";
      }) fileSystems ++ [
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

    # nixos/modules/system/boot/systemd/initrd.nix (guarded by boot.initrd.enable since
    # NixOS/nixpkgs#441777: containers have no initrd)
    (mkIf (cfg.boot.initrd.enable && cfg.boot.initrd.systemd.enable) {
      assertions = map (name: {
        assertion = lib.attrByPath name (throw "impossible") cfg.boot.initrd == "";
        message = ''
          systemd stage 1 does not support 'boot.initrd.${lib.concatStringsSep "." name}'. Please
            convert it to analogous systemd units in 'boot.initrd.systemd'.
        '';
      }) scriptedOnly;
    })

    # nixos/modules/virtualisation/container-config.nix (2025; the definitions on options
    # nxc's stand-ins declare)
    (mkIf cfg.boot.isContainer {
      boot.kernel.enable = false;
      documentation.nixos.enable = mkDefault false;
      networking.useHostResolvConf = mkDefault true;
      services.openssh.startWhenNeeded = mkDefault true;
      services.udev.enable = false;
      powerManagement.enable = mkDefault false;
      environment.variables.NIX_REMOTE = "daemon";
    })
  ];
}
