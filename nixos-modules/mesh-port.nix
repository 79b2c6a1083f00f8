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

  config.networking.firewall.allowedUDPPorts = [ config.sov.mesh.port ];
}
