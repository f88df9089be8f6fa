# Options every role's system gets from nxc's library (real NixOS and the test OS alike).
# Flavour modules read them (e.g. `config.nxc.flavour.image`) and may declare more under `nxc.*`.
{ lib, pkgs, ... }:
{
  options.nxc = {
    role = lib.mkOption {
      type = lib.types.str;
      description = "Name of the role this system is built for.";
    };
    composition = lib.mkOption {
      type = lib.types.str;
      default = "composition";
      description = "Name of the composition this role belongs to.";
    };
    flavour = lib.mkOption {
      type = lib.types.attrs;
      default = { };
      description = "The flavour being built: { name, image, description, distribution }.";
    };
    bootScript = lib.mkOption {
      type = lib.types.path;
      description = "nxc's node boot script (boot contract: read deploy=, find own entry, hostname, hosts, keys, role).";
    };
    disks = lib.mkOption {
      type = lib.types.listOf (lib.types.submodule {
        options = {
          size = lib.mkOption {
            type = lib.types.str;
            description = "Size of the disk: a positive integer with an optional K, M, G or T suffix (powers of 1024), e.g. \"4G\".";
          };
          id = lib.mkOption {
            type = lib.types.nullOr lib.types.str;
            default = null;
            description = "Identifier of the disk, unique in the role (letters, digits, '_', '-'; at most 20 characters). The guest sees /dev/disk/by-id/virtio-<id>. Default: disk0, disk1, ... by position.";
          };
        };
      });
      default = [ ];
      description = "Block devices every node of this role gets (flavours vm and vm-ramdisk): sparse files attached as virtio disks.";
    };
    bootTools = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ pkgs.jq pkgs.busybox ];
      description = "Packages on the PATH of the boot script (jq, base64, gzip, ip, hostname, wget).";
    };
  };
}
