# Stage 1 of all-in-one images (one kernel + initrd for every role: ramdisk, vm,
# remote-store, tarball kinds).
#
# The Nix library boots these images with `init=<nxc-init>` (nix/lib/images/all-in-one.nix):
# after stage 1 has mounted the root and the store, that init runs as PID 1 in the new root,
# runs the boot script (reads `deploy=`, finds this node's entry by address, writes hostname,
# hosts, keys, /etc/nxc/*) and execs the init of the node's role, i.e. NixOS's stage 2.
# Finding the entry by address needs the node's addresses to survive stage 1, so stage 1
# brings the network up (DHCP on Grid'5000, static addresses for QEMU, see qemu-guest.nix)
# and keeps it for stage 2 instead of flushing it.
{
  config,
  lib,
  ...
}:

let
  cfg = config.nxc.stage1;
  inherit (lib) mkIf mkOption mkOverride types;
  flavourName = config.nxc.flavour.name or "this flavour";
in
{
  options.nxc.stage1 = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "The system boots from an all-in-one image; set by flavour modules.";
    };
    network = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Bring the network up in stage 1 and keep it for stage 2: the boot script finds the
        node's deployment entry by address, and may download it (`deploy=http://...`).
      '';
    };
    preCommands = mkOption {
      type = types.lines;
      default = "";
      description = "Shell commands run at the end of stage 1, before stage 2 (e.g. static addresses).";
    };
  };

  config = mkIf cfg.enable {
    # The flavours' stage-1 work (store, addresses) runs in the scripted stage 1's hooks
    # (postMountCommands, extraUtilsCommands), which the systemd stage 1 refuses; nixpkgs now
    # defaults to the systemd one. Priority 900 wins over nixpkgs' default and over a
    # `mkDefault true` (profiles set it so); a role that really sets it gets the assertion.
    boot.initrd.systemd.enable = mkOverride 900 false;
    assertions = [
      {
        assertion = !config.boot.initrd.systemd.enable;
        message = "nxc: flavour ${flavourName} needs NixOS's scripted stage 1 (its boot runs in boot.initrd.postMountCommands), but role ${config.nxc.role} sets boot.initrd.systemd.enable = true: remove that definition from the role.";
      }
    ];

    boot.initrd.network.enable = cfg.network;
    boot.initrd.network.flushBeforeStage2 = false;
    boot.initrd.postMountCommands = lib.mkMerge [
      # The SSH host key nxc made for this node, appended to the initrd by the kexec flavours
      # (over the SSH connection nxc verified before kexec): it becomes the node's host key,
      # the one key nxc accepts from this node (sshd generates only the keys that are missing).
      (lib.mkBefore ''
        if [ -e /nxc/ssh_host_ed25519_key ]; then
          mkdir -m 0755 -p "$targetRoot/etc/ssh"
          cp /nxc/ssh_host_ed25519_key /nxc/ssh_host_ed25519_key.pub "$targetRoot/etc/ssh/"
          chmod 0600 "$targetRoot/etc/ssh/ssh_host_ed25519_key"
          rm -rf /nxc
        fi
      '')
      (lib.mkAfter cfg.preCommands)
    ];
  };
}
