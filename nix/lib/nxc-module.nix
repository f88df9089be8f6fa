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
    bootTools = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ pkgs.jq pkgs.busybox ];
      description = "Packages on the PATH of the boot script (jq, base64, gzip, ip, hostname, wget).";
    };
  };
}
