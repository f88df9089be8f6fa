# Role selection in stage 1, for all-in-one images (one kernel + initrd for every role:
# ramdisk, vm, remote-store, tarball). The kernel boots with `init=` of any role; once the
# root and the Nix store are mounted, the shared boot script reads `deploy=`, finds this node's
# entry, writes the deployment under the new root (/etc/nxc/deployment.json, node.json, root's
# authorized_keys) and prints the init of the node's role, which replaces `stage2Init`.
# A failure prints `NXC_BOOT_ERROR <reason>` and stops the boot (the flavour sees it on the
# console) instead of starting the wrong role.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nxc;
  inherit (lib) mkIf mkOption types;
in
{
  options.nxc.stage1 = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Pick the node's role in stage 1 (all-in-one images); set by flavour modules.";
    };
    network = mkOption {
      type = types.bool;
      default = true;
      description = "Bring the network up in stage 1 (needed for `deploy=http://...` and NFS stores).";
    };
    preCommands = mkOption {
      type = types.lines;
      default = "";
      description = "Shell commands run in stage 1 before the boot script (e.g. static addresses).";
    };
  };

  config = mkIf cfg.stage1.enable {
    boot.initrd.network.enable = cfg.stage1.network;

    # The script is POSIX sh: busybox's ash (sh, base64, gunzip, wget) runs it; jq reads JSON.
    boot.initrd.extraUtilsCommands = ''
      copy_bin_and_libs ${pkgs.jq}/bin/jq
    '';
    boot.initrd.extraUtilsCommandsTest = ''
      $out/bin/jq --version
    '';
    boot.initrd.extraFiles."/etc/nxc-boot.sh".source = pkgs.writeScript "nxc-boot.sh" (builtins.readFile cfg.bootScript);

    boot.initrd.postMountCommands = lib.mkAfter ''
      ${cfg.stage1.preCommands}
      mkdir -p "$targetRoot/etc/nxc"
      if nxc_init=$(NXC_MODE=stage1 NXC_ROOT="$targetRoot" sh /etc/nxc-boot.sh); then
        nxc_init=$(echo "$nxc_init" | tail -n 1)
        if [ -n "$nxc_init" ]; then
          echo "nxc: role init $nxc_init"
          stage2Init="$nxc_init"
        fi
      else
        echo "NXC_BOOT_ERROR stage 1 could not apply the deployment" > /dev/console
        fail
      fi
    '';
  };
}
