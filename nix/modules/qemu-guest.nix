# Local QEMU nodes (vm-ramdisk, vm): virtio hardware, serial console, and the two NICs the
# qemu flavour gives every VM:
#   - the first NIC is QEMU user-mode networking (slirp): 10.0.2.15/24, gateway 10.0.2.2,
#     DNS 10.0.2.3, with the node's SSH port forwarded from the host;
#   - the last NIC is on the deployment's private segment; its address comes from the kernel
#     command line `nxc.ip=ADDR/LEN` (optionally `nxc.iface=NAME` to name the interface).
# Both are configured statically in stage 1, before the boot script looks the node up by
# address, and kept for stage 2: no DHCP round trips under TCG.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.nxc.qemu;
  inherit (lib) mkDefault mkIf mkOption mkOverride types;

  setupNetwork = ''
    nxc_ip=""
    nxc_iface=""
    for o in $(cat /proc/cmdline); do
      case "$o" in
        nxc.ip=*) nxc_ip="''${o#nxc.ip=}" ;;
        nxc.iface=*) nxc_iface="''${o#nxc.iface=}" ;;
      esac
    done
    nxc_ifaces=$(ls /sys/class/net | grep -v '^lo$' | sort)
    nxc_first=$(echo "$nxc_ifaces" | head -n 1)
    nxc_last=$(echo "$nxc_ifaces" | tail -n 1)
    ip link set lo up
    if [ -n "$nxc_first" ] && [ "$nxc_first" != "$nxc_last" ]; then
      ip link set "$nxc_first" up
      ip addr add 10.0.2.15/24 dev "$nxc_first"
      ip route add default via 10.0.2.2 dev "$nxc_first"
    fi
    if [ -n "$nxc_ip" ]; then
      [ -n "$nxc_iface" ] || nxc_iface="$nxc_last"
      echo "nxc: $nxc_ip on $nxc_iface"
      ip link set "$nxc_iface" up
      ip addr add "$nxc_ip" dev "$nxc_iface"
    fi
  '';
in
{
  options.nxc.qemu.enable = mkOption {
    type = types.bool;
    default = false;
    description = "Configure the node as a local QEMU VM of the qemu flavours; set by flavour modules.";
  };

  config = mkIf cfg.enable {
    boot.kernelParams = [
      "console=tty0"
      "console=ttyS0,115200"
    ];
    boot.initrd.availableKernelModules = [
      "virtio_net"
      "virtio_pci"
      "virtio_blk"
      "virtio_rng"
      "e1000"
    ];
    # loaded early: stage 1 configures the NICs itself
    boot.initrd.kernelModules = [
      "virtio_pci"
      "virtio_net"
      "e1000"
    ];

    # Addresses are set once, in stage 1, from the command line; stage 2 keeps them. Priority
    # 900: stronger than the `mkDefault true` of a generated hardware-configuration.nix (it
    # describes another machine, not these VMs), weaker than a role's own definition.
    networking.useDHCP = mkOverride 900 false;
    networking.nameservers = mkDefault [ "10.0.2.3" ];
    boot.initrd.network.enable = true;
    boot.initrd.network.flushBeforeStage2 = false;
    nxc.stage1.preCommands = setupNetwork;

    # Little RAM in test VMs: no generated caches or manuals.
    documentation.man.enable = mkDefault false;
    # Network conditions (`nxc net`, a composition's `network` list) are applied inside the
    # guest: ip (prohibit routes), tc (htb + netem), modprobe, and ping for `nxc net check`,
    # all in the system's closure; the kernel modules are named so that they are in it too.
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
  };
}
