# A host as a VM test node: its modules and choices, without its hardware
# configuration (a VM has its own disks and boot; the test framework supplies
# pkgs). Used by the flake's VM tests and by the eval cases that check the
# neutralisation works. disabledModules matches the path the host imports.
{ name }:
{
  disabledModules = [ (../../hosts + "/${name}/hardware.nix") ];
  imports = [
    ../../nixos-modules
    (../../hosts + "/${name}")
  ];
}
