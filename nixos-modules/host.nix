# What a sov host is for, and the one promise every role keeps: nothing but
# the gateway's 80/443 and the mesh port is open to the internet (DESIGN.md).
# Services inside the mesh open ports on the mesh interface only
# (networking.firewall.interfaces.<mesh>.*), which this check leaves alone.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.sov.host;
  fw = config.networking.firewall;

  # Public ports each role may open, besides the mesh port.
  publicTCP = {
    heart = [ ];
    brain = [ ];
    gateway = [
      80
      443
    ];
  };
  allowedTCP = publicTCP.${cfg.role} or [ ];
  allowedUDP = [ config.sov.mesh.port ];
  extraTCP = lib.subtractLists allowedTCP fw.allowedTCPPorts;
  extraUDP = lib.subtractLists allowedUDP fw.allowedUDPPorts;
  ranges = fw.allowedTCPPortRanges ++ fw.allowedUDPPortRanges;
  showPorts = ps: lib.concatMapStringsSep ", " toString ps;
in
{
  options.sov.host = {
    role = mkOption {
      type = types.nullOr (
        types.enum [
          "heart"
          "brain"
          "gateway"
        ]
      );
      default = null;
      description = "Which of the three sov machines this is (DESIGN.md); null for a machine outside the trio.";
    };

    checkPublicPorts = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Fail evaluation when the firewall opens a public port the role does
        not allow. Turn off only deliberately, e.g. ssh on a fresh gateway
        before the mesh is up, and say why next to it.
      '';
    };
  };

  config.assertions = lib.optionals (cfg.role != null && cfg.checkPublicPorts) [
    {
      assertion = fw.enable;
      message = "sov: ${config.networking.hostName} (role ${cfg.role}) has networking.firewall.enable = false: every listening port would be public.";
    }
    {
      assertion = extraTCP == [ ] && extraUDP == [ ] && ranges == [ ];
      message =
        "sov: ${config.networking.hostName} (role ${cfg.role}) opens public ports its role does not allow:"
        + lib.optionalString (extraTCP != [ ]) " TCP ${showPorts extraTCP}"
        + lib.optionalString (extraUDP != [ ]) " UDP ${showPorts extraUDP}"
        + lib.optionalString (ranges != [ ]) " port ranges"
        + ". Only the gateway may open TCP 80 and 443, and every host the mesh port"
        + " (UDP ${toString config.sov.mesh.port}); open service ports on the mesh"
        + " interface (networking.firewall.interfaces.<mesh>) or set"
        + " sov.host.checkPublicPorts = false with the reason.";
    }
  ];
}
