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
  inherit (lib) mkDefault mkIf mkOption mkOverride types;

  # Firmware of G5K NICs whose drivers refuse to start without it (Broadcom NetXtreme II
  # 10/25G: bnx2x; QLogic FastLinQ: qede/qed). Stage 1 copies the files the modules name
  # (makeModulesClosure reads `hardware.firmware`), so the initrd grows by these files only,
  # not by all of linux-firmware (which `hardware.enableRedistributableFirmware` would put
  # in every role's closure, and so into the ramdisk).
  nicFirmware = pkgs.runCommand "nxc-g5k-nic-firmware" { } ''
    mkdir -p $out/lib/firmware
    for d in bnx2x qed; do
      if [ -d ${pkgs.linux-firmware}/lib/firmware/$d ]; then
        cp -rL ${pkgs.linux-firmware}/lib/firmware/$d $out/lib/firmware/
      fi
    done
  '';
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
      "bnx2x"
      "qede"
    ];
    hardware.firmware = [ nicFirmware ];
    # kvm-intel / kvm-amd: the kernel loads the one matching the CPU by itself (udev, CPU
    # modalias); forcing both makes one fail on every node. `hardware.enableRedistributableFirmware`
    # is left to the role or its hardware configuration (see nicFirmware).

    # Stage 1 gets the node's address by DHCP (G5K's DHCP gives every node its fixed
    # address, the key of its deployment entry), so DHCP must be on. Priority 900: stronger
    # than a hardware configuration's `mkDefault`, weaker than a role's own definition.
    networking.useDHCP = mkOverride 900 true;
    # Stage 1 needs the network for `deploy=http://...` and NFS; the NIC drivers must be in
    # the initrd.
    boot.initrd.network.enable = true;
    boot.supportedFilesystems = [ "nfs" ];

    # Kadeploy and the frontend probe ports; nodes of a composition talk freely.
    networking.firewall.enable = mkDefault false;

    # Network conditions (`nxc net`, a composition's `network` list) are applied on the node
    # over SSH: ip, tc, modprobe and ping in the system's closure, and the kernel modules named.
    environment.systemPackages = [
      pkgs.iproute2
      pkgs.iputils
      pkgs.kmod
    ];
    boot.kernelModules = [
      "sch_htb"
      "sch_netem"
      "cls_u32"
    ];

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
