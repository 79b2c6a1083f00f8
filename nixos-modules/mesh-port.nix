# The WireGuard port of the sov mesh. Every sov host is a mesh peer, so every
# host opens it; the mesh module (later) takes this option over and adds the
# interface, keys and peers.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.sov.mesh.port = mkOption {
    type = types.port;
    default = 51820;
    description = "UDP port WireGuard listens on for the sov mesh; opened in the firewall.";
  };

  # Named here so that services can open their ports on the mesh only; the
  # mesh module will set them from its interface and peer table.
  options.sov.mesh.interface = mkOption {
    type = types.str;
    default = "wg-sov";
    description = "The mesh's WireGuard interface; services open their ports on it only.";
  };

  options.sov.mesh.address = mkOption {
    type = types.nullOr types.str;
    default = null;
    description = "This host's address on the mesh (no prefix length), or null when not known yet.";
  };

  config.networking.firewall.allowedUDPPorts = [ config.sov.mesh.port ];
}
