# The base profile every sov host imports (through nixos-modules/default.nix).
# Single values are lib.mkDefault so a host can still choose otherwise (lists
# and lines merge instead); hosts hold choices only (hostName, role, ports,
# keys, system.stateVersion).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkDefault mkOption types;
  cfg = config.sov.base;
  placeholderKeys = lib.filter (k: lib.hasInfix "REPLACE-ME" k) cfg.authorizedKeys;
in
{
  options.sov.base = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Apply the sov base profile. On by default: it is what makes a machine
        a sov host. A machine that wants only the service modules turns it off.
      '';
    };

    authorizedKeys = mkOption {
      type = types.listOf types.singleLineStr;
      default = [ ];
      example = [ "ssh-ed25519 AAAA... operator@laptop" ];
      description = ''
        SSH public keys allowed to log in as root (key only; no passwords
        anywhere). With users.mutableUsers = false these are the only way in,
        which is what `nixos-rebuild --target-host root@HOST` uses.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    nix.settings = {
      experimental-features = [
        "nix-command"
        "flakes"
      ];
      auto-optimise-store = mkDefault true;
    };
    nix.gc = {
      automatic = mkDefault true;
      dates = mkDefault "weekly";
      # Catch up on a run missed while the machine was off.
      persistent = mkDefault true;
      options = mkDefault "--delete-older-than 30d";
    };

    time.timeZone = mkDefault "UTC";

    services.openssh = {
      enable = mkDefault true;
      # Not on the public interface: the mesh module opens 22 on the mesh
      # interface only. Until it exists, reach a host from its console, or open
      # it deliberately (see docs/nix.md).
      openFirewall = mkDefault false;
      settings = {
        PasswordAuthentication = mkDefault false;
        KbdInteractiveAuthentication = mkDefault false;
        PermitRootLogin = mkDefault "prohibit-password";
      };
    };

    networking.firewall.enable = mkDefault true;

    # Cap the journal so logs never fill the disk of a small machine. Not
    # mkDefault: this is `lines`, and any other definition (even NixOS's test
    # instrumentation) would drop a mkDefault value whole. journald takes the
    # last value of a key, so a host lowers a cap with lib.mkAfter.
    # nixpkgs 26.11 replaces extraConfig with services.journald.settings.Journal
    # (and rejects extraConfig): move these three there when the pin moves on.
    services.journald.extraConfig = ''
      SystemMaxUse=1G
      SystemKeepFree=2G
      MaxRetentionSec=3month
    '';

    # Users come from configuration only: nothing drifts by hand.
    users.mutableUsers = mkDefault false;
    users.users.root.openssh.authorizedKeys.keys = cfg.authorizedKeys;
    # Services that share files do so through this group (SupplementaryGroups).
    users.groups.sov = { };

    # The sov tools on PATH when the overlay is applied (nixosConfigurations
    # and the VM tests apply it; a foreign flake may not).
    environment.systemPackages = lib.optional (pkgs ? sov) pkgs.sov;

    assertions = [
      {
        assertion = !config.users.mutableUsers -> cfg.authorizedKeys != [ ];
        message = "sov: ${config.networking.hostName} has users.mutableUsers = false and no sov.base.authorizedKeys: nobody could log in. Add the operator's SSH public key in hosts/${config.networking.hostName}/default.nix.";
      }
    ];
    warnings = lib.optional (placeholderKeys != [ ]) "sov: ${config.networking.hostName} still has the placeholder key in sov.base.authorizedKeys (it opens the door to no one): replace it with the operator's SSH public key before deploying, or nobody can log in.";
  };
}
