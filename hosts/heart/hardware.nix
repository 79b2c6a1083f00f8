# PLACEHOLDER hardware configuration for heart: a generic UEFI machine with a
# root file system labelled "nixos" and an EFI system partition labelled
# "boot". Replace this whole file with the output of
# `nixos-generate-config --show-hardware-config` on the real machine.
# The VM tests leave this file out (tests/nix/vm-node.nix), so nothing else
# may live here.
{ lib, ... }:
{
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";

  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  fileSystems."/boot" = {
    device = "/dev/disk/by-label/boot";
    fsType = "vfat";
    options = [ "umask=0077" ];
  };
}
