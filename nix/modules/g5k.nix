# Grid'5000 bare-metal nodes (g5k-ramdisk, g5k-nfs-store, g5k-image): the drivers of G5K's
# disks and NICs in stage 1, the serial console Kadeploy and kaconsole use, DHCP (G5K's DHCP
# hands every node its fixed address, which is the key of its deployment entry), and the
# user's NFS home as on the standard environment.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nxc.g5k;
  inherit (lib) mkDefault mkIf mkOption types;
in
{
  options.nxc.g5k = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Configure the node as a Grid'5000 machine; set by the g5k flavour modules.";
    };
    mountHome = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Mount the deploying user's home (`nfs:/export/home/<user>`, user from the deployment)
        on /home/<user>, as the G5K standard environment does.
      '';
    };
  };

  config = mkIf cfg.enable {
    boot.kernelParams = [
      "console=tty0"
      "console=ttyS0,115200"
    ];
    boot.initrd.availableKernelModules = [
      "ahci"
      "ehci_pci"
      "xhci_pci"
      "megaraid_sas"
      "mpt3sas"
      "nvme"
      "sd_mod"
      "igb"
      "ixgbe"
      "i40e"
      "ice"
      "tg3"
      "bnxt_en"
      "e1000e"
      "mlx4_core"
      "mlx4_en"
      "mlx5_core"
    ];
    boot.kernelModules = [
      "kvm-intel"
      "kvm-amd"
    ];
    # Firmware would go into the initrd that every node receives (ramdisk: pushed over SSH);
    # G5K's NICs work without it. Turn it on in a role when a device needs it.
    hardware.enableRedistributableFirmware = mkDefault false;

    networking.useDHCP = mkDefault true;
    # Stage 1 needs the network for `deploy=http://...` and NFS; the NIC drivers must be in
    # the initrd.
    boot.initrd.network.enable = true;
    boot.supportedFilesystems = [ "nfs" ];

    # Kadeploy and the frontend probe ports; nodes of a composition talk freely.
    networking.firewall.enable = mkDefault false;

    systemd.services.nxc-g5k-home = mkIf cfg.mountHome {
      description = "nxc: mount the deploying user's Grid'5000 home";
      wantedBy = [ "multi-user.target" ];
      after = [
        "network-online.target"
        "nxc-boot.service"
      ];
      wants = [ "network-online.target" ];
      before = [ "nxc-ready.service" ];
      path = [
        pkgs.jq
        pkgs.util-linux
        pkgs.nfs-utils
      ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      script = ''
        user=$(jq -r '.user // empty' /etc/nxc/deployment.json 2>/dev/null || true)
        if [ -z "$user" ] || [ "$user" = root ]; then exit 0; fi
        mkdir -p "/home/$user"
        # best effort: outside Grid'5000 there is no `nfs` server
        mount -t nfs -o soft,timeo=50,retrans=2,retry=0 "nfs:/export/home/$user" "/home/$user" || \
          echo "nxc: could not mount nfs:/export/home/$user (not on Grid'5000?)"
      '';
    };
  };
}
