# sov.lib: values every sov module shares, read-only so no host can quietly
# weaken them for all services at once (a service relaxes its own copy).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.sov.lib.hardening = mkOption {
    type = types.attrsOf types.anything;
    default = import ./hardening.nix;
    readOnly = true;
    description = ''
      The systemd hardening every sov service merges into its serviceConfig:
      `serviceConfig = config.sov.lib.hardening // { ... }`, each relaxed
      setting with a comment saying why. See nixos-modules/hardening.nix.
    '';
  };
}
