# The WireGuard port of the sov mesh. Every sov host is a mesh peer, so every
# host opens it; the mesh module (later) takes these options over and adds
# the interface and keys.
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

  # Named here so that services can watch the mesh (sov-probe's WireGuard
  # targets); the mesh module will fill it from its peer table and build
  # the interface's peers from it.
  options.sov.mesh.peers = mkOption {
    type = types.attrsOf (
      types.submodule {
        options = {
          publicKey = mkOption {
            type = types.strMatching "[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=";
            description = "The peer's WireGuard public key (base64, as `wg pubkey` prints it).";
          };
          address = mkOption {
            type = types.nullOr types.str;
            default = null;
            description = "The peer's address on the mesh (no prefix length), or null.";
          };
        };
      }
    );
    default = { };
    example = {
      brain.publicKey = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    };
    description = ''
      The mesh's members by host name (this host among them or not: whoever
      reads the table leaves networking.hostName out).
    '';
  };

  config.networking.firewall.allowedUDPPorts = [ config.sov.mesh.port ];
}
