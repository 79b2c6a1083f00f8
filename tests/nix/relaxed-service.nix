# Test-only module: a service built the one way tool modules build theirs,
# merging the shared hardening and relaxing a single setting.
{ config, ... }:
{
  systemd.services.sov-test-relaxed = {
    description = "sov test service: shared hardening, one setting relaxed";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = config.sov.lib.hardening // {
      ExecStart = "/run/current-system/sw/bin/true";
      StateDirectory = "sov-test-relaxed";
      # Relaxed: this service reads files another user owns (the kind of
      # reason a real module writes here).
      PrivateUsers = false;
    };
  };
}
