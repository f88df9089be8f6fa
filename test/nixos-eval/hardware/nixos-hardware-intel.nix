# What nixos-hardware's common/cpu/intel profile sets (with mkDefault).
{ config, lib, ... }:
{
  hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
  hardware.enableRedistributableFirmware = lib.mkDefault true;
}
