# The probe targets every sov host gets by default (imported through
# nixos-modules/default.nix), from what the host's configuration already
# knows:
#
#   disk-root, disk-var-lib   free space and inodes of / (and of /var/lib
#                             when it is a file system of its own)
#   postgresql                the local server answers, where it runs
#   mesh-PEER                 a recent WireGuard handshake with each mesh
#                             peer (sov.mesh.peers)
#   cert-NAME                 days left on the certificate of each public
#                             name nginx serves over TLS (the gateway)
#   backup-JOB                the newest snapshot of each sov-backup job is
#                             recent (services.sov.backup.jobs)
#
# and heart, once it has a mesh address, serves the status page there.
#
# Every field is lib.mkDefault, so a host changes one
# (services.sov.probe.targets.disk-root.min_free_percent = 5;), drops a
# target (services.sov.probe.targets.cert-old.enable = false;), or turns
# all of this off with sov.probe.hostTargets.enable = false.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkDefault mkOption types;
  cfg = config.sov.probe.hostTargets;
  probe = config.services.sov.probe;
  pg = config.services.postgresql;
  backup = config.services.sov.backup;
  hostName = config.networking.hostName;

  # A target whose every field is a default.
  target = attrs: lib.mapAttrs (_: mkDefault) (attrs // lib.optionalAttrs (cfg.alerts != [ ]) { inherit (cfg) alerts; });

  # Target names are [a-z0-9][a-z0-9_.-]{0,63} (sov-probe's rule).
  nameOf =
    prefix: s:
    let
      clean = lib.concatStrings (
        map (c: if builtins.match "[a-z0-9_.-]" c != null then c else "-") (
          lib.stringToCharacters (lib.toLower s)
        )
      );
    in
    lib.substring 0 64 "${prefix}-${clean}";

  disk = path: {
    type = "disk";
    inherit path;
    min_free_percent = 10;
    min_inodes_percent = 5;
    interval = "1m";
  };
  separateVarLib = config.fileSystems ? "/var/lib" || config.fileSystems ? "/var";

  # The mesh peers but this host.
  peers = lib.filterAttrs (n: _: n != hostName) config.sov.mesh.peers;

  # Public names: the TLS virtual hosts of nginx, their aliases too (the
  # gateway's proxy by host name; the page of services.sov.probe is plain
  # HTTP on the mesh and is not among them).
  nginx = config.services.nginx;
  tlsHosts = lib.filterAttrs (
    _: v: (v.forceSSL or false) || (v.onlySSL or false) || (v.addSSL or false)
  ) (if nginx.enable then nginx.virtualHosts else { });
  publicNames = lib.unique (
    lib.concatLists (
      lib.mapAttrsToList (
        n: v: [ (if v.serverName or null != null then v.serverName else n) ] ++ (v.serverAliases or [ ])
      ) tlsHosts
    )
  );
  isDnsName = n: builtins.match "[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?" n != null && lib.hasInfix "." n;

  # How old the newest snapshot may be: the job's period and a margin for
  # the timer's random delay and the run itself.
  maxAge =
    job:
    {
      hourly = "2h";
      daily = "26h";
      weekly = "8d";
      monthly = "32d";
    }
    .${toString (job.timerConfig.OnCalendar or "daily")} or "26h";
  backupTarget =
    name: job:
    target {
      type = "backup";
      argv = [
        "${backup.package}/bin/sov-backup"
        "snapshots"
        "--repo"
        job.repository
        "--password-file"
        "%d/backup-${name}"
        "--host"
        job.host
        "--latest"
        "1"
      ]
      ++ lib.optionals (job.tags != [ ]) [
        "--tag"
        (lib.head job.tags)
      ];
      # A snapshot record's "ts" is when it was listed; "time" when it
      # was taken.
      jq = ''select(.event == "snapshot") | .ts = .time'';
      max_age = maxAge job;
      interval = "15m";
      timeout = "2m";
    };
in
{
  options.sov.probe.hostTargets = {
    enable = mkOption {
      type = types.bool;
      default = config.sov.base.enable;
      defaultText = lib.literalExpression "config.sov.base.enable";
      description = ''
        Run sov-probe on every sov host (sov.host.role set) with the
        targets this host's configuration implies: disk space of / and
        /var/lib, the local PostgreSQL, each WireGuard mesh peer, the
        certificates of nginx's TLS names, the freshness of each backup
        job. Off: none of them, and the probe runs only where
        services.sov.probe.enable is set.
      '';
    };

    alerts = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "ops" ];
      description = "Alerts (services.sov.probe.alerts) every default target runs on a change of state.";
    };
  };

  config = lib.mkIf cfg.enable {
    services.sov.probe.enable = mkDefault (config.sov.host.role != null);
    # heart keeps the status page, served on its mesh address once it has one.
    services.sov.probe.page.enable = mkDefault (
      config.sov.host.role == "heart" && config.sov.mesh.address != null
    );

    services.sov.probe.targets = lib.mkMerge [
      {
        disk-root = target (disk "/");
      }
      (lib.mkIf separateVarLib { disk-var-lib = target (disk "/var/lib"); })
      (lib.mkIf pg.enable {
        postgresql = target {
          type = "postgres";
          url = "postgresql:///postgres?host=/run/postgresql&port=${toString pg.settings.port}";
          query = "SELECT 1";
        };
      })
      (lib.mapAttrs' (
        name: peer:
        lib.nameValuePair (nameOf "mesh" name) (target {
          type = "wireguard";
          interface = config.sov.mesh.interface;
          peers = [ peer.publicKey ];
          # A handshake every 2 minutes while packets flow: the mesh keeps
          # them flowing (PersistentKeepalive); 5m allows one to be lost.
          max_age = "5m";
          interval = "1m";
          tags.peer = name;
        })
      ) peers)
      (lib.listToAttrs (
        map (
          n:
          lib.nameValuePair (nameOf "cert" n) (target {
            type = "tls";
            host = n;
            port = 443;
            server_name = n;
            cert_days = 14;
            interval = "1h";
          })
        ) (lib.filter isDnsName publicNames)
      ))
      (lib.mapAttrs' (name: job: lib.nameValuePair (nameOf "backup" name) (backupTarget name job)) backup.jobs)
    ];

    # Each job's repository password, for its backup target.
    services.sov.probe.credentials = lib.mapAttrs' (
      name: job: lib.nameValuePair "backup-${name}" (mkDefault job.passwordFile)
    ) backup.jobs;
  };
}
