# services.sov.backup: sov-backup jobs on timers (docs/nix.md, /tmp/backup-cli.md
# is the command line). Each job `NAME` gives
#
#   sov-backup-NAME.service / .timer          backup (then forget --prune,
#                                             when a retention rule is set)
#   sov-backup-NAME-check.service / .timer    check --read-data-subset
#   sov-backup-NAME-init.service              init, when `initialize` and the
#                                             repository has no config yet
#
# and, when any job dumps PostgreSQL databases, sov-backup-pg-grant.service.
#
# All run as the system user sov-backup. The backup reads every file through
# CAP_DAC_READ_SEARCH (read and search permission checks bypassed, nothing
# else) instead of running as root, and writes only to its repository and
# state directory. The password reaches the tool only as the systemd
# credential `password` (LoadCredential): never in the store, argv or the
# environment.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.sov.backup;
  pg = config.services.postgresql;

  user = "sov-backup";
  jobs = cfg.jobs;
  pgJobs = lib.filterAttrs (_: job: job.postgresql.databases != [ ]) jobs;
  socketDir = "/run/postgresql";

  util = import ./unit-util.nix { inherit lib; };
  inherit (util) execLine urlHasPassword;
  metricsFile = util.sqliteFile;
  flags = flag: map (v: [ flag v ]);

  bin = "${cfg.package}/bin/sov-backup";

  # A database on the local server, through its socket (peer authentication
  # as the role sov-backup).
  pgUrl = db: "postgresql:///${db}?host=${socketDir}&port=${toString pg.settings.port}";

  keepFlags = {
    last = "--keep-last";
    hourly = "--keep-hourly";
    daily = "--keep-daily";
    weekly = "--keep-weekly";
    monthly = "--keep-monthly";
    yearly = "--keep-yearly";
    within = "--keep-within";
  };
  retentionArgs =
    job:
    lib.concatLists (
      lib.mapAttrsToList (
        key: flag:
        let
          v = job.retention.${key};
        in
        lib.optionals (v != null) [
          flag
          (toString v)
        ]
      ) keepFlags
    );

  # A job backing up a directory that holds its own repository leaves the
  # repository out (it would be saved into itself, growing every night).
  holdsRepo =
    job: lib.any (p: p == "/" || p == job.repository || lib.hasPrefix "${p}/" job.repository) job.paths;

  backupArgs =
    job:
    [
      bin
      "backup"
      "--repo"
      job.repository
      "--host"
      job.host
    ]
    ++ lib.concatLists (flags "--tag" job.tags)
    ++ lib.concatLists (flags "--exclude" (job.exclude ++ lib.optional (holdsRepo job) job.repository))
    ++ lib.concatLists (flags "--sqlite" job.sqlite)
    ++ lib.concatLists (flags "--postgres" (map pgUrl job.postgresql.databases))
    ++ job.extraBackupArgs
    ++ job.paths;

  forgetArgs =
    job:
    [
      bin
      "forget"
      "--repo"
      job.repository
      "--host"
      job.host
      "--prune"
    ]
    ++ retentionArgs job;

  checkArgs =
    job:
    [
      bin
      "check"
      "--repo"
      job.repository
    ]
    ++ lib.optionals (job.check.readDataSubset != null) [
      "--read-data-subset"
      job.check.readDataSubset
    ];

  environment =
    job:
    {
      # The SQLite copies (as large as the databases) on disk, not in a
      # /tmp that may be RAM; private to the unit (PrivateTmp).
      TMPDIR = "/var/tmp";
    }
    // lib.optionalAttrs (job.metrics != null) { SOV_METRICS = job.metrics; }
    // lib.optionalAttrs (job.postgresql.databases != [ ]) {
      # pg_dump of the server's own version (never older than the server).
      SOV_PG_BINDIR = "${pg.package}/bin";
    };

  # What every unit of a job shares: the fixed user, the password, the
  # repository, state and cache directories writable and nothing else.
  jobSandbox =
    name: job:
    let
      mfile = metricsFile job.metrics;
    in
    config.sov.lib.hardening
    // {
      Type = "oneshot";
      # Relaxed: a fixed user owns the repository across the job's units and
      # boots, and is the PostgreSQL role sov-backup (peer authentication).
      DynamicUser = false;
      User = user;
      Group = user;
      # Relaxed: home directories are among what a job may back up, and a
      # repository may live there: read-only instead of hidden.
      ProtectHome = "read-only";
      StateDirectory = "sov-backup/${name}";
      StateDirectoryMode = "0700";
      # The last backup's directories ($CACHE_DIRECTORY; the tool's
      # dircache.h): a nightly run then reads and rebuilds only what changed.
      # Losing it costs one slower run, nothing else.
      CacheDirectory = "sov-backup/${name}";
      CacheDirectoryMode = "0700";
      # The whole file system is read-only (ProtectSystem = "strict") but for
      # the repository, and the directory of an SQLite measurements store
      # (its -wal and -shm files live next to it; "-": missing is no error,
      # the tool then says which file it could not open).
      ReadWritePaths = [ job.repository ] ++ lib.optional (mfile != null) "-${dirOf mfile}";
      # The tool reads $CREDENTIALS_DIRECTORY/password.
      LoadCredential = [ "password:${job.passwordFile}" ];
      # Second to the services the machine is for.
      Nice = 10;
      IOSchedulingClass = "best-effort";
      IOSchedulingPriority = 7;
    }
    // lib.optionalAttrs (mfile != null) {
      # A measurements store shared by sov services is the group sov's.
      SupplementaryGroups = [ "sov" ];
    };

  # 75 is retryable (lock held, disk full, server down): the backup and the
  # check try again 15 minutes later, at most 6 starts in 2 hours (then the
  # unit stays failed until its timer or an operator starts it again).
  # 1 (failed) and 2 (bad input) would fail the same way again. systemd
  # refuses RestartForceExitStatus= for Type=oneshot, hence the other way.
  retry = {
    Restart = "on-failure";
    RestartPreventExitStatus = [
      "1"
      "2"
    ];
    RestartSec = "15min";
  };
  jobUnitConfig = job: {
    RequiresMountsFor = [ job.repository ];
    StartLimitIntervalSec = "2h";
    StartLimitBurst = 6;
  };

  unitsOf =
    name: job:
    let
      service = "sov-backup-${name}";
      initService = "${service}-init.service";
      pgUnits = lib.optionals (job.postgresql.databases != [ ]) [
        "postgresql.service"
        "postgresql-setup.service"
        "sov-backup-pg-grant.service"
      ];
    in
    {
      services = {
        ${service} = {
          description = "sov-backup: back up job ${name} to ${job.repository}";
          after = pgUnits ++ lib.optional job.initialize initService;
          requires =
            lib.optional (job.postgresql.databases != [ ]) "sov-backup-pg-grant.service"
            ++ lib.optional job.initialize initService;
          environment = environment job;
          unitConfig = jobUnitConfig job;
          serviceConfig = jobSandbox name job // retry // {
            # One line per command, run in order; the forget runs only when
            # the backup succeeded.
            ExecStart = [
              (execLine (backupArgs job))
            ]
            ++ lib.optional (retentionArgs job != [ ]) (execLine (forgetArgs job));
            # Relaxed: reading every file without being root is the job.
            # CAP_DAC_READ_SEARCH bypasses read and search permission checks
            # and nothing else (writing stays as sov-backup may).
            CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
            AmbientCapabilities = [ "CAP_DAC_READ_SEARCH" ];
            # Relaxed: in a private user namespace other users' files map to
            # nobody, and the capability would not reach them.
            PrivateUsers = false;
          };
        };

        "${service}-check" = {
          description = "sov-backup: check the repository of job ${name}";
          after = lib.optional job.initialize initService;
          environment = lib.optionalAttrs (job.metrics != null) { SOV_METRICS = job.metrics; };
          unitConfig = jobUnitConfig job;
          serviceConfig = jobSandbox name job // retry // {
            ExecStart = execLine (checkArgs job);
          };
        };
      }
      // lib.optionalAttrs job.initialize {
        "${service}-init" = {
          description = "sov-backup: create the repository of job ${name}";
          unitConfig = {
            RequiresMountsFor = [ job.repository ];
            # Skipped (not failed) once the repository exists, so the backup
            # that requires this unit goes on.
            ConditionPathExists = "!${job.repository}/config";
          };
          serviceConfig = jobSandbox name job // {
            ExecStart = execLine [
              bin
              "init"
              "--repo"
              job.repository
            ];
          };
        };
      };

      timers = {
        ${service} = {
          description = "sov-backup: when job ${name} runs";
          wantedBy = [ "timers.target" ];
          inherit (job) timerConfig;
        };
      }
      // lib.optionalAttrs (job.check.timerConfig != null) {
        "${service}-check" = {
          description = "sov-backup: when the repository of job ${name} is checked";
          wantedBy = [ "timers.target" ];
          timerConfig = job.check.timerConfig;
        };
      };
    };
  units = lib.mapAttrsToList unitsOf jobs;

  timerType = types.attrsOf (
    types.oneOf [
      types.bool
      types.int
      types.str
      (types.listOf types.str)
    ]
  );

  jobModule =
    { name, ... }:
    {
      options = {
        paths = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [
            "/var/lib"
            "/home"
          ];
          description = "Absolute paths to back up (files and directories, recursively).";
        };

        exclude = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [
            "*.tmp"
            "/var/lib/postgresql"
          ];
          description = ''
            Globs left out of the backup (`--exclude`): one without `/`
            matches a name anywhere, one with `/` the whole path. A
            repository inside the backed-up paths is left out by itself.
          '';
        };

        postgresql.databases = mkOption {
          type = types.listOf (types.strMatching "[A-Za-z0-9_][A-Za-z0-9_.-]*");
          default = [ ];
          example = [ "shop" ];
          description = ''
            Databases of the local PostgreSQL server (services.postgresql)
            dumped with `pg_dump --format=custom` through the socket
            ${socketDir}, as the role sov-backup (peer authentication),
            which this module creates and grants `pg_read_all_data`
            (PostgreSQL 14 or later). A dump appears in the snapshot as
            /postgresql/NAME.pgdump.
          '';
        };

        sqlite = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "/var/lib/app/data.sqlite" ];
          description = ''
            SQLite databases (absolute paths) copied through SQLite's online
            backup API, consistent while their application writes. They
            appear in the snapshot at their own path.
          '';
        };

        repository = mkOption {
          type = types.str;
          example = "/mnt/backup/sov";
          description = ''
            The repository: an absolute directory path (a local disk, a
            mounted USB drive or NFS). The module creates the directory,
            owned by sov-backup, and waits for its mount (RequiresMountsFor).
            Use a directory of its own, not the root of a mounted disk.
          '';
        };

        passwordFile = mkOption {
          type = types.str;
          example = "/run/secrets/sov-backup-password";
          description = ''
            File holding the repository password, outside the Nix store
            (a string, so a path literal cannot be copied into the store).
            systemd reads it as root at each start and hands it to the tool
            as the credential `password` (LoadCredential); it never appears
            in argv, the environment or the unit files.
          '';
        };

        tags = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "nightly" ];
          description = "Tags given to every snapshot of this job (`--tag`).";
        };

        host = mkOption {
          type = types.str;
          default = config.networking.hostName;
          defaultText = lib.literalExpression "config.networking.hostName";
          description = "Host name recorded in the snapshots, and the host whose snapshots `forget` considers.";
        };

        retention =
          let
            keep =
              description:
              mkOption {
                type = types.nullOr types.ints.positive;
                default = null;
                description = "${description} (null: no rule).";
              };
          in
          {
            last = keep "Keep the last N snapshots";
            hourly = keep "Keep the last snapshot of each of the last N hours";
            daily = keep "Keep the last snapshot of each of the last N days";
            weekly = keep "Keep the last snapshot of each of the last N weeks";
            monthly = keep "Keep the last snapshot of each of the last N months";
            yearly = keep "Keep the last snapshot of each of the last N years";
            within = mkOption {
              type = types.nullOr types.str;
              default = null;
              example = "14d";
              description = "Keep every snapshot younger than this duration (null: no rule).";
            };
          };

        timerConfig = mkOption {
          type = timerType;
          default = {
            OnCalendar = "daily";
            Persistent = true;
            RandomizedDelaySec = "1h";
          };
          description = ''
            The [Timer] section of sov-backup-${name}.timer (systemd.timer(5)).
            Setting it replaces the default whole: keep `Persistent = true`
            so a run missed while the machine was off happens at boot.
          '';
        };

        check = {
          timerConfig = mkOption {
            type = types.nullOr timerType;
            default = {
              OnCalendar = "weekly";
              Persistent = true;
              RandomizedDelaySec = "1h";
            };
            description = ''
              The [Timer] section of sov-backup-${name}-check.timer; null
              leaves the check unit without a timer (start it by hand).
            '';
          };
          readDataSubset = mkOption {
            type = types.nullOr (types.strMatching "[0-9]+(\\.[0-9]+)?%|[0-9]+/[0-9]+");
            default = "5%";
            example = "1/7";
            description = ''
              Part of the data the check decrypts and verifies
              (`--read-data-subset`): a percentage, or N/M for the Nth of M
              parts. null checks the structure only.
            '';
          };
        };

        metrics = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "sqlite:/var/lib/sov/measurements.sqlite";
          description = ''
            The measurements store URL ($SOV_METRICS): `sqlite:/ABS/PATH` or
            `postgresql:///DB?host=/run/postgresql` (peer authentication).
            It lands in the unit file, so it must carry no password.
            null: the summary goes to the journal only.
          '';
        };

        extraBackupArgs = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "--one-file-system" ];
          description = "More arguments for `sov-backup backup`, before the paths.";
        };

        initialize = mkOption {
          type = types.bool;
          default = false;
          description = ''
            Create the repository (`sov-backup init`) before the first backup,
            when it has no config file yet. Off by default: a repository
            that vanished (an unmounted disk) should fail loudly, not be
            silently replaced by an empty one. Set it on one job per
            repository.
          '';
        };
      };
    };

  jobAssertions =
    name: job:
    let
      opt = "services.sov.backup.jobs.${name}";
      relative = lib.filter (p: !(lib.hasPrefix "/" p)) (job.paths ++ job.sqlite);
      mfile = metricsFile job.metrics;
    in
    [
      {
        assertion = builtins.match "[A-Za-z0-9][A-Za-z0-9_.-]*" name != null;
        message = "sov: ${opt}: the job name becomes a unit name (sov-backup-NAME.service): use letters, digits, '_', '.', '-'.";
      }
      {
        assertion = job.paths != [ ] || job.sqlite != [ ] || job.postgresql.databases != [ ];
        message = "sov: ${opt} has nothing to back up: set paths, sqlite or postgresql.databases.";
      }
      {
        assertion = lib.hasPrefix "/" job.repository;
        message = "sov: ${opt}.repository must be an absolute path, got ${builtins.toJSON job.repository}.";
      }
      {
        assertion = builtins.match "[^[:space:]\"'\\%$]*" job.repository != null;
        message = "sov: ${opt}.repository ${builtins.toJSON job.repository}: no blanks, quotes, backslashes, '%' or '$' (it goes into unit and tmpfiles lines).";
      }
      {
        assertion = relative == [ ];
        message = "sov: ${opt}: paths and sqlite must be absolute, got ${builtins.toJSON relative}.";
      }
      {
        assertion = lib.hasPrefix "/" job.passwordFile;
        message = "sov: ${opt}.passwordFile must be an absolute path, got ${builtins.toJSON job.passwordFile}.";
      }
      {
        assertion = !(lib.hasPrefix "${builtins.storeDir}/" job.passwordFile);
        message = "sov: ${opt}.passwordFile ${job.passwordFile} is in the Nix store, which every local user (and every machine the closure is copied to) can read: the password would not be secret. Point it at a file outside the store (written by your secrets tool, e.g. under /run/secrets).";
      }
      {
        assertion = job.postgresql.databases == [ ] || pg.enable;
        message = "sov: ${opt}.postgresql.databases lists ${builtins.toJSON job.postgresql.databases} but services.postgresql.enable is false: the databases are dumped from the local server through its socket ${socketDir}.";
      }
      {
        assertion = !(urlHasPassword job.metrics);
        message = "sov: ${opt}.metrics carries a password, and unit files are world-readable in the Nix store: use the local socket with peer authentication (postgresql:///DB?host=/run/postgresql) or an sqlite: store.";
      }
      {
        assertion = mfile == null || lib.hasPrefix "/" mfile;
        message = "sov: ${opt}.metrics ${builtins.toJSON job.metrics}: the SQLite file must be an absolute path (sqlite:/ABS/PATH).";
      }
    ];
in
{
  options.services.sov.backup = {
    package = lib.mkPackageOption pkgs "sov" { };

    jobs = mkOption {
      type = types.attrsOf (types.submodule jobModule);
      default = { };
      example = lib.literalExpression ''
        {
          nightly = {
            paths = [ "/var/lib" "/home" ];
            exclude = [ "/var/lib/postgresql" "*.tmp" ];
            postgresql.databases = [ "shop" ];
            sqlite = [ "/var/lib/app/data.sqlite" ];
            repository = "/mnt/backup/sov";
            passwordFile = "/run/secrets/sov-backup-password";
            retention = { daily = 7; weekly = 5; monthly = 12; };
          };
        }
      '';
      description = ''
        Backup jobs, each a sov-backup-NAME.service run by its timer, with a
        check on its own timer. See docs/nix.md.
      '';
    };
  };

  config = lib.mkIf (jobs != { }) {
    assertions =
      lib.concatLists (lib.mapAttrsToList jobAssertions jobs)
      ++ lib.optional (pgJobs != { } && pg.enable) {
        assertion = lib.versionAtLeast pg.package.version "14";
        message = "sov: services.sov.backup dumps PostgreSQL databases as a member of pg_read_all_data, which PostgreSQL ${pg.package.version} lacks (14 or later needed).";
      };

    users.users.${user} = {
      isSystemUser = true;
      group = user;
      description = "sov-backup: reads what the backup jobs save";
    };
    users.groups.${user} = { };

    # The repositories, owned by sov-backup (an existing directory's owner
    # and mode are set again; its contents are left alone).
    systemd.tmpfiles.rules = lib.unique (
      lib.mapAttrsToList (_: job: "d ${job.repository} 0700 ${user} ${user} - -") jobs
    );

    systemd.services = lib.mkMerge (
      map (u: u.services) units
      ++ [
        (lib.mkIf (pgJobs != { }) {
          sov-backup-pg-grant = util.psqlAsPostgres {
            description = "sov-backup: let the role sov-backup read every database (pg_read_all_data)";
            inherit pg;
            sql = "GRANT pg_read_all_data TO \"${user}\"";
            hardening = config.sov.lib.hardening;
          };
        })
      ]
    );
    systemd.timers = lib.mkMerge (map (u: u.timers) units);

    services.postgresql.ensureUsers = lib.mkIf (pgJobs != { }) [ { name = user; } ];
  };
}
