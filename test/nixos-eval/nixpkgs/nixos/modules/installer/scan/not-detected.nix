# As nixpkgs' nixos/modules/installer/scan/not-detected.nix (imported by every generated
# hardware-configuration.nix): firmware for devices nixos-generate-config cannot detect.
{ lib, ... }:
{
  hardware.enableRedistributableFirmware = lib.mkDefault true;
}
