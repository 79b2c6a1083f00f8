# PLACEHOLDER hardware configuration for gateway: a generic BIOS VPS with its
# disk at /dev/vda and a root file system labelled "nixos". Replace this whole
# file with the output of `nixos-generate-config --show-hardware-config` on
# the real machine (and the provider's boot loader needs).
# The VM tests leave this file out (tests/nix/vm-node.nix), so nothing else
# may live here.
{ lib, ... }:
{
  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";

  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
}
