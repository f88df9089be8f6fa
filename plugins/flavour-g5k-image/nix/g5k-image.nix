# Flavour `g5k-image` (image kind `tarball`, all-in-one): Kadeploy writes a tarball holding
# every role's closure (built by the Nix library, /boot/ holding the kernel and initrd) onto
# the node's deploy partition as ext4 and boots it with the environment's kernel parameters
# (`deploy=...`, `root=` of the deploy partition, which stage 1 exposes as /dev/root).
# Stage 1 gets an address by DHCP and keeps it; the library's `init=` (also /sbin/init of the
# image) picks the node's role from the deployment; the root filesystem grows to the partition.
#
# Needs the shared nxc modules (nix/modules), which the Nix library adds to every role.
{ lib, ... }:
{
  nxc.store.kind = "disk";
  nxc.stage1.enable = true;
  nxc.g5k.enable = true;

  fileSystems."/" = lib.mkImageMediaOverride {
    device = "/dev/root";
    fsType = "ext4";
    autoResize = true;
  };
  swapDevices = lib.mkDefault [ ];

  # Kadeploy boots the kernel and initrd named in the environment: no bootloader to install.
  boot.loader.grub.enable = lib.mkDefault false;
  # Steady CPU speed for experiments, unless the role or its hardware configuration (which
  # sets the governor with mkDefault) chooses: priority 1200 is weaker than mkDefault.
  powerManagement.cpuFreqGovernor = lib.mkOverride 1200 "performance";
}
