# nixosModules.default: everything a sov host imports. Each tool's module
# (services.sov.NAME) is added to this list as it lands.
{
  imports = [
    ./lib.nix
    ./host.nix
    ./mesh-port.nix
    ./backup.nix
    ./wf.nix
    ./probe.nix
    ./cert.nix
    ./profiles/base.nix
    ./profiles/probe.nix
  ];
}
