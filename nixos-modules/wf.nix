# services.sov.wf: the sov-wf worker (docs/nix.md; the format of the
# definitions is docs/workflow-format.md). One unit runs everything:
#
#   sov-wf-worker.service   `sov-wf worker`: claims queued steps, fires the
#                           cron triggers and, with webhook.enable, serves
#                           the webhook triggers on the mesh address
#
# and, when the store is a database of the local PostgreSQL server,
# sov-wf-pg-owner.service, which gives that database to the role sov-wf.
#
# The definitions (workflows, workflowFiles) become one directory in the
# Nix store, NAME.json each, that `sov-wf validate` checks while the system
# is built: a bad definition fails the build, never the running service.
# Secrets reach the worker only as systemd credentials (LoadCredential): a
# webhook's HMAC secret under the name its secret_credential gives, a libpq
# password file as `pgpass`. Never in the store, argv or the environment.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.sov.wf;
  pg = config.services.postgresql;

  defaultUser = "sov-wf";
  stateDir = "/var/lib/sov-wf";
  socketDir = "/run/postgresql";
  # A stable name for the definitions, for operators' `sov-wf` commands.
  etcWorkflows = "/etc/sov-wf/workflows";
  bin = "${cfg.package}/bin/sov-wf";

  util = import ./unit-util.nix { inherit lib; };
  inherit (util)
    execLine
    sqliteFile
    urlHasPassword
    duration
    jsonValue
    secretAssertions
    isWildcard
    isIpLiteral
    ;

  storeFile = sqliteFile cfg.store;
  metricsFile = sqliteFile cfg.metrics;
  isPostgresUrl = url: builtins.match "postgres(ql)?://.*" url != null;

  # The database of a store URL that names the local server through its
  # socket (postgresql:///DB, with no host or host=/run/postgresql), else
  # null. Anything else (a host name, an address) is a server elsewhere.
  pgLocal =
    let
      m = builtins.match "postgres(ql)?:///([^?]*)(\\?(.*))?" cfg.store;
      query = if m == null || lib.elemAt m 3 == null then "" else lib.elemAt m 3;
      params = lib.filter (p: p != "") (lib.splitString "&" query);
      valuesOf = key: map (lib.removePrefix "${key}=") (lib.filter (lib.hasPrefix "${key}=") params);
    in
    if m != null && lib.all (h: h == socketDir) (valuesOf "host") then
      {
        db = lib.elemAt m 1;
        ports = valuesOf "port";
      }
    else
      null;
  localDb = if pgLocal != null && cfg.postgresql.createLocally then pgLocal.db else null;
  pgUnits = lib.optionals (localDb != null) [
    "postgresql.service"
    "postgresql-setup.service"
    "sov-wf-pg-owner.service"
  ];

  # Durations as sov-wf reads them (util.duration): "250ms", "1h30m".
  unitMs = {
    ms = 1;
    s = 1000;
    m = 60000;
    h = 3600000;
    d = 86400000;
    w = 604800000;
  };
  durationMs =
    s:
    lib.foldl' (acc: g: acc + lib.toIntBase10 (lib.elemAt g 0) * unitMs.${lib.elemAt g 1}) 0 (
      lib.filter lib.isList (builtins.split "([0-9]+)(ms|s|m|h|d|w)" s)
    );
  # On SIGTERM the worker stops claiming and finishes or abandons its
  # steps within its lease (past it another worker retries them anyway):
  # the lease and a margin, then systemd kills what is left.
  stopSec = (durationMs cfg.lease + 999) / 1000 + 15;

  # The webhook address: never every address unless openToAll says so
  # (util.isWildcard), and one the worker can bind (util.isIpLiteral).
  hostPort =
    a: port:
    if a == null then
      ""
    else if lib.hasInfix ":" a && !(lib.hasPrefix "[" a) then
      "[${a}]:${toString port}"
    else
      "${a}:${toString port}";

  nameRe = "[a-z0-9][a-z0-9_.-]{0,63}";

  # The webhook secret_credentials a definition names.
  hookCredentials =
    def:
    lib.concatMap (
      t:
      let
        w = t.webhook or null;
      in
      lib.optional (builtins.isAttrs w && builtins.isString (w.secret_credential or null)) w.secret_credential
    ) (lib.filter builtins.isAttrs (if builtins.isList (def.triggers or null) then def.triggers else [ ]));
  hasWebhook =
    def:
    lib.any (t: builtins.isAttrs t && t ? webhook) (
      if builtins.isList (def.triggers or null) then def.triggers else [ ]
    );

  # The name a file gets in the directory: its own, without the hash of a
  # store path (/nix/store/HASH-lead.json -> lead.json).
  storePrefix = "${builtins.storeDir}/";
  fileName =
    f:
    let
      s = toString f;
      b = baseNameOf s;
    in
    if lib.hasPrefix storePrefix s && dirOf s == builtins.storeDir then lib.substring 33 (-1) b else b;

  entries =
    lib.mapAttrsToList (name: def: {
      file = "${name}.json";
      source = pkgs.writeText "sov-wf-${name}.json" (builtins.toJSON def);
    }) cfg.workflows
    ++ map (f: {
      file = fileName f;
      source = f;
    }) cfg.workflowFiles;
  fileNames = map (e: e.file) entries;

  # The definitions, checked as the worker will load them. `fileNames` and
  # `fileSources` are parallel lists (names are [a-z0-9_.-], store paths
  # have no blanks, so the shell may split them on blanks).
  workflowsDir =
    pkgs.runCommand "sov-wf-workflows"
      {
        nativeBuildInputs = [
          cfg.package
          pkgs.jq
        ];
        inherit fileNames;
        fileSources = map (e: e.source) entries;
        credentials = builtins.attrNames cfg.credentials;
      }
      ''
        mkdir "$out"
        read -r -a names <<<"$fileNames"
        read -r -a sources <<<"$fileSources"
        for i in "''${!names[@]}"; do
          cp "''${sources[i]}" "$out/''${names[i]}"
        done
        # Exit 2, naming the file and the field, when any is invalid.
        sov-wf validate "$out"
        # Every secret_credential (workflowFiles too) must be loaded.
        for f in "$out"/*.json; do
          for c in $(jq -r '.triggers[]?.webhook? | objects | .secret_credential // empty' "$f"); do
            case " $credentials " in
            *" $c "*) ;;
            *)
              echo "sov-wf: ''${f##*/}: a webhook's secret_credential \"$c\" is not in services.sov.wf.credentials" >&2
              exit 1
              ;;
            esac
          done
        done
      '';

  workerArgs = [
    bin
    "worker"
    "--store"
    cfg.store
    "--workflows"
    "${workflowsDir}"
    "--lease"
    cfg.lease
  ]
  ++ lib.optionals (cfg.threads != null) [
    "--threads"
    (toString cfg.threads)
  ]
  ++ lib.optionals (cfg.dlq.base != null) [
    "--dlq-base"
    cfg.dlq.base
  ]
  ++ lib.optionals (cfg.dlq.max != null) [
    "--dlq-max"
    cfg.dlq.max
  ]
  ++ lib.optionals cfg.webhook.enable [
    "--webhook"
    (hostPort cfg.webhook.address cfg.webhook.port)
  ]
  ++ lib.optionals (cfg.metrics != null) [
    "--metrics"
    cfg.metrics
  ]
  ++ lib.optionals (cfg.name != null) [
    "--name"
    cfg.name
  ]
  ++ cfg.extraArgs;

  passFile = cfg.postgresql.passFile;
  # The worker's and the purge's: libpq reads the password file from the
  # credentials directory (%d, a specifier systemd expands in Environment=).
  unitEnvironment = {
    SOV_STATE_DIR = stateDir;
  }
  // lib.optionalAttrs (passFile != null) { PGPASSFILE = "%d/pgpass"; }
  // cfg.environment;

  credentialLines =
    lib.mapAttrsToList (name: path: "${name}:${path}") cfg.credentials
    ++ lib.optional (passFile != null) "pgpass:${passFile}";

  workflowAssertions =
    name: def:
    let
      opt = "services.sov.wf.workflows.${lib.strings.escapeNixIdentifier name}";
      missing = lib.filter (c: !(cfg.credentials ? ${c})) (hookCredentials def);
    in
    [
      {
        assertion = builtins.match nameRe name != null;
        message = "sov: ${opt}: a workflow name is 1 to 64 of [a-z0-9_.-], starting with a letter or digit (it becomes the file ${name}.json).";
      }
      {
        assertion = def.name or null == name;
        message = "sov: ${opt} has \"name\": ${builtins.toJSON (def.name or null)}: the attribute name and the definition's name must be the same (set name = ${builtins.toJSON name}).";
      }
      {
        assertion = missing == [ ];
        message = "sov: ${opt}: a webhook's secret_credential names ${builtins.toJSON missing}, which services.sov.wf.credentials lacks: add services.sov.wf.credentials.${lib.strings.escapeNixIdentifier (lib.head (missing ++ [ "NAME" ]))} = \"/run/secrets/...\"; (the file holding the HMAC secret).";
      }
    ];

  fileAssertions =
    f:
    let
      s = toString f;
    in
    [
      {
        assertion = builtins.isPath f || lib.hasPrefix storePrefix s;
        message = "sov: services.sov.wf.workflowFiles: ${builtins.toJSON s} is neither a path value (./lead.json) nor in the Nix store: the build that validates the definitions could not read it.";
      }
      {
        assertion = !(builtins.isPath f) || builtins.pathExists f;
        message = "sov: services.sov.wf.workflowFiles: ${s} does not exist.";
      }
      {
        assertion = builtins.match "${nameRe}\\.json" (fileName f) != null;
        message = "sov: services.sov.wf.workflowFiles: ${s}: the file name must be NAME.json with NAME of [a-z0-9_.-] (the worker reads *.json).";
      }
    ];

  duplicates = lib.unique (lib.filter (n: lib.count (m: m == n) fileNames > 1) fileNames);
  withHooks = lib.attrNames (lib.filterAttrs (_: hasWebhook) cfg.workflows);
in
{
  options.services.sov.wf = {
    enable = lib.mkEnableOption "the sov-wf worker (sov-wf-worker.service)";

    package = lib.mkPackageOption pkgs "sov" { };

    store = mkOption {
      type = types.str;
      default = "sqlite:${stateDir}/wf.db";
      example = "postgresql:///sov_wf?host=/run/postgresql";
      description = ''
        The queue (`--store`): `sqlite:/ABS/PATH`, one worker on this host,
        or `postgresql://...`, which several workers on several hosts share.
        `postgresql:///DB?host=${socketDir}` is the local server with peer
        authentication as the role sov-wf; with postgresql.createLocally
        this module creates the database and the role. The URL lands in the
        unit file, so it must carry no password: give a server elsewhere its
        password with postgresql.passFile.
      '';
    };

    workflows = mkOption {
      type = types.attrsOf (types.attrsOf jsonValue);
      default = { };
      example = lib.literalExpression ''
        {
          lead = lib.importJSON ./workflows/lead.json;
          ping = {
            name = "ping";
            version = 1;
            triggers = [ { cron = "*/5 * * * *"; } ];
            steps.ping.run = [ "curl" "-fsS" "https://example.com/health" ];
          };
        }
      '';
      description = ''
        Workflow definitions (docs/workflow-format.md), each written with
        builtins.toJSON to NAME.json in the directory the worker reads. The
        attribute name must be the definition's `name`. No secrets in them:
        the store is readable by all.
      '';
    };

    workflowFiles = mkOption {
      type = types.listOf types.path;
      default = [ ];
      example = lib.literalExpression "[ ./workflows/nightly-report.json ]";
      description = ''
        Definition files (NAME.json), copied into the same directory: path
        values, or paths in the Nix store.
      '';
    };

    workflowsDir = mkOption {
      type = types.package;
      readOnly = true;
      default = workflowsDir;
      defaultText = lib.literalMD "a directory built from `workflows` and `workflowFiles`";
      description = ''
        The directory the worker reads (`--workflows`), validated by
        `sov-wf validate` when it is built. Also linked at ${etcWorkflows}.
      '';
    };

    threads = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      description = "Steps this worker runs at once (`--threads`); null: one per core.";
    };

    lease = mkOption {
      type = duration;
      default = "30s";
      example = "2m";
      description = ''
        How long a claimed step stays this worker's without renewal
        (`--lease`); past it another worker retries the step. The unit's
        TimeoutStopSec is the lease plus 15 seconds.
      '';
    };

    retention = mkOption {
      type = types.nullOr duration;
      default = "90d";
      example = "30d";
      description = ''
        Executions that ended (succeeded, cancelled, or discarded from the
        dead-letter queue) longer ago than this are deleted with their
        steps and attempts, daily (`sov-wf purge --older-than`, the timer
        sov-wf-purge). Nothing in flight or in the dead-letter queue is
        touched. null: kept for ever.
      '';
    };

    dlq = {
      base = mkOption {
        type = types.nullOr duration;
        default = null;
        example = "10m";
        description = "First delay before a dead-lettered execution is retried (`--dlq-base`); null: sov-wf's default.";
      };
      max = mkOption {
        type = types.nullOr duration;
        default = null;
        example = "1d";
        description = "Longest delay between retries from the dead-letter queue (`--dlq-max`); null: sov-wf's default.";
      };
    };

    webhook = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Serve the definitions' webhook triggers (`--webhook ADDR:PORT`),
          reachable through the mesh only: the port is opened on the mesh
          interface and nowhere else.
        '';
      };
      address = mkOption {
        type = types.nullOr types.str;
        default = config.sov.mesh.address or null;
        defaultText = lib.literalExpression "config.sov.mesh.address or null";
        example = "10.77.0.1";
        description = ''
          The address to listen on: this host's mesh address. Every address
          (0.0.0.0, ::) is refused unless openToAll is set.
        '';
      };
      port = mkOption {
        type = types.port;
        default = 8470;
        description = "TCP port of the webhooks; opened on the mesh interface only.";
      };
      interface = mkOption {
        type = types.str;
        default = config.sov.mesh.interface or "wg-sov";
        defaultText = lib.literalExpression ''config.sov.mesh.interface or "wg-sov"'';
        description = "The mesh interface, the only one whose firewall opens the port.";
      };
      openToAll = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Allow a wildcard address (0.0.0.0, ::). The firewall still opens
          the port on `interface` only; say next to it why the mesh address
          will not do.
        '';
      };
    };

    metrics = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "sqlite:/var/lib/sov/measurements.sqlite";
      description = ''
        The measurements store (`--metrics`): `sqlite:/ABS/PATH` or a
        PostgreSQL URL without a password. null: measurements go to the
        journal only.
      '';
    };

    credentials = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        lead-webhook = "/run/secrets/lead-webhook";
      };
      description = ''
        systemd credentials of the worker: NAME = file outside the Nix
        store, read by systemd at each start (LoadCredential=NAME:FILE) and
        seen by the worker and its steps as $CREDENTIALS_DIRECTORY/NAME.
        Every secret_credential a definition names must be here; `run`
        steps may read their own (an API token) the same way.
      '';
    };

    postgresql = {
      createLocally = mkOption {
        type = types.bool;
        default = true;
        description = ''
          When the store is a database of the local server
          (postgresql:///DB?host=${socketDir}), create it and the role of
          `user` (services.postgresql.ensureDatabases/ensureUsers), give the
          role the database, and start the worker after PostgreSQL.
        '';
      };
      passFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/sov-wf-pgpass";
        description = ''
          A libpq password file (lines `host:port:database:user:password`)
          for a server elsewhere, outside the Nix store. It reaches the
          worker as the credential `pgpass`, named by PGPASSFILE: never in
          the unit file, argv or the environment.
        '';
      };
    };

    path = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ pkgs.jq pkgs.curl pkgs.sqlite ]";
      description = ''
        Packages whose bin/ the `run` steps find on PATH (a bare run[0] is
        looked up there). The sov tools are always on it.
      '';
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        LEAD_DB = "/var/lib/sov-wf/customers.db";
      };
      description = "Environment of the worker and its steps. No secrets: it lands in the unit file.";
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "More arguments for `sov-wf worker`.";
    };

    name = mkOption {
      type = types.nullOr types.singleLineStr;
      default = null;
      description = "The worker's id in the store (`--name`); null: sov-wf picks one.";
    };

    user = mkOption {
      type = types.str;
      default = defaultUser;
      description = ''
        The user the worker and its steps run as, and its PostgreSQL role.
        The default, sov-wf, is created; another must exist.
      '';
    };

    group = mkOption {
      type = types.str;
      default = defaultUser;
      description = "The worker's group; the default, sov-wf, is created.";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions =
          lib.concatLists (lib.mapAttrsToList workflowAssertions cfg.workflows)
          ++ lib.concatMap fileAssertions cfg.workflowFiles
          ++ lib.concatLists (
            lib.mapAttrsToList (n: p: secretAssertions "services.sov.wf.credentials.${n}" p) cfg.credentials
          )
          ++ lib.optionals (passFile != null) (secretAssertions "services.sov.wf.postgresql.passFile" passFile)
          ++ [
            {
              assertion = entries != [ ];
              message = "sov: services.sov.wf has no definitions: set services.sov.wf.workflows or workflowFiles.";
            }
            {
              assertion = duplicates == [ ];
              message = "sov: services.sov.wf: ${builtins.toJSON duplicates} given twice (by workflows and workflowFiles, or two files of one name).";
            }
            {
              assertion = lib.all util.credentialName (lib.attrNames cfg.credentials);
              message = "sov: services.sov.wf.credentials: names are 1 to 64 of letters, digits, '_', '.', '-' (not . or ..), got ${builtins.toJSON (lib.attrNames cfg.credentials)}.";
            }
            {
              assertion = passFile == null || !(cfg.credentials ? pgpass);
              message = "sov: services.sov.wf.credentials.pgpass: the name is taken by postgresql.passFile.";
            }
            {
              assertion = storeFile != null || isPostgresUrl cfg.store;
              message = "sov: services.sov.wf.store ${builtins.toJSON cfg.store}: want sqlite:/ABS/PATH or postgresql://...";
            }
            {
              assertion = storeFile == null || lib.hasPrefix "/" storeFile;
              message = "sov: services.sov.wf.store ${builtins.toJSON cfg.store}: the SQLite file must be an absolute path (sqlite:/ABS/PATH).";
            }
            {
              assertion = !(urlHasPassword cfg.store);
              message = "sov: services.sov.wf.store carries a password, and unit files are world-readable in the Nix store: use the local socket with peer authentication (postgresql:///sov_wf?host=/run/postgresql) or give the password with services.sov.wf.postgresql.passFile.";
            }
            {
              assertion = !(urlHasPassword cfg.metrics);
              message = "sov: services.sov.wf.metrics carries a password, and unit files are world-readable in the Nix store: use the local socket with peer authentication, an sqlite: store, or services.sov.wf.postgresql.passFile.";
            }
            {
              assertion = metricsFile == null || lib.hasPrefix "/" metricsFile;
              message = "sov: services.sov.wf.metrics ${builtins.toJSON cfg.metrics}: the SQLite file must be an absolute path (sqlite:/ABS/PATH).";
            }
            {
              assertion = localDb == null || pg.enable;
              message = "sov: services.sov.wf.store ${builtins.toJSON cfg.store} is a database of the local server, but services.postgresql.enable is false (or set services.sov.wf.postgresql.createLocally = false).";
            }
            {
              assertion = localDb == null || builtins.match "[A-Za-z0-9_][A-Za-z0-9_.-]*" localDb != null;
              message = "sov: services.sov.wf.store: the local database name ${builtins.toJSON localDb} must be of letters, digits, '_', '.', '-'.";
            }
            {
              assertion = localDb == null || lib.last ([ "5432" ] ++ pgLocal.ports) == toString pg.settings.port;
              message = "sov: services.sov.wf.store ${builtins.toJSON cfg.store}: the local server listens on port ${toString pg.settings.port}: add &port=${toString pg.settings.port} to the URL.";
            }
            {
              assertion = !cfg.webhook.enable || cfg.webhook.address != null;
              message = "sov: services.sov.wf.webhook.enable needs webhook.address: this host's mesh address.";
            }
            {
              assertion = !cfg.webhook.enable || cfg.webhook.address == null || isIpLiteral cfg.webhook.address;
              message = "sov: services.sov.wf.webhook.address ${builtins.toJSON cfg.webhook.address}: want an IP address (IPv4, or IPv6 with or without brackets); the worker binds it and resolves no host names.";
            }
            {
              assertion = !cfg.webhook.enable || cfg.webhook.openToAll || !(isWildcard cfg.webhook.address);
              message = "sov: services.sov.wf.webhook.address ${builtins.toJSON cfg.webhook.address} listens on every address: use this host's mesh address, or set webhook.openToAll = true and say why.";
            }
          ];

        warnings = lib.optional (!cfg.webhook.enable && withHooks != [ ]) "sov: services.sov.wf: the workflows ${builtins.toJSON withHooks} have webhook triggers, but services.sov.wf.webhook.enable is false: they will never fire.";

        users.users = lib.mkIf (cfg.user == defaultUser) {
          ${defaultUser} = {
            isSystemUser = true;
            inherit (cfg) group;
            description = "sov-wf: runs the workflows' steps";
          };
        };
        users.groups = lib.mkIf (cfg.group == defaultUser) { ${defaultUser} = { }; };

        # An operator's `sov-wf status`, `dlq`, `enqueue` on this host reach
        # the worker's queue and definitions without options.
        environment.etc."sov-wf/workflows".source = workflowsDir;
        environment.variables = {
          SOV_WF_STORE = cfg.store;
          SOV_WF_WORKFLOWS = etcWorkflows;
        };

        # The mesh only (nixos-modules/host.nix leaves per-interface ports
        # alone; a public one would fail its check).
        networking.firewall.interfaces = lib.mkIf cfg.webhook.enable {
          ${cfg.webhook.interface}.allowedTCPPorts = [ cfg.webhook.port ];
        };

        systemd.services.sov-wf-worker = {
          description = "sov-wf: run the workflows' steps, cron triggers and webhooks";
          wantedBy = [ "multi-user.target" ];
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ] ++ pgUnits;
          requires = lib.optional (localDb != null) "sov-wf-pg-owner.service";
          # The sov tools first: a step may be sov-route or sov-embed.
          path = [ cfg.package ] ++ cfg.path;
          environment = unitEnvironment;
          # A store that is down makes the worker exit 75: keep trying, ever
          # more slowly (RestartSteps), without ever giving up.
          unitConfig.StartLimitIntervalSec = 0;
          serviceConfig =
            config.sov.lib.hardening
            # Exit 2 is bad input (a definition, an option): never restarted.
            // util.restartAlways
            // {
              Type = "exec";
              ExecStart = execLine workerArgs;
              # Relaxed: a fixed user is the PostgreSQL role (peer
              # authentication) and can be given files (secret_file,
              # databases of steps) before the first start.
              DynamicUser = false;
              User = cfg.user;
              Group = cfg.group;
              StateDirectory = "sov-wf";
              StateDirectoryMode = "0700";
              # Steps that write relative paths write in the state directory.
              WorkingDirectory = stateDir;
              LoadCredential = credentialLines;
              # SIGTERM to the worker alone, which finishes or abandons its
              # steps; what is left gets SIGKILL after TimeoutStopSec.
              KillMode = "mixed";
              TimeoutStopSec = "${toString stopSec}s";
              # The directories of SQLite files outside the state directory
              # (their -wal and -shm live next to them; "-": missing is no
              # error, the worker then names the file it could not open).
              ReadWritePaths = map (f: "-${dirOf f}") (
                lib.filter (f: f != null && !(lib.hasPrefix "${stateDir}/" f)) [
                  storeFile
                  metricsFile
                ]
              );
            }
            // lib.optionalAttrs (metricsFile != null) {
              # A measurements store shared by sov services is the group sov's.
              SupplementaryGroups = [ "sov" ];
            };
        };
      }

      (lib.mkIf (cfg.retention != null) {
        systemd.services.sov-wf-purge = {
          description = "sov-wf: delete executions that ended more than ${cfg.retention} ago";
          after = [ "sov-wf-worker.service" ] ++ pgUnits;
          environment = unitEnvironment;
          serviceConfig = config.sov.lib.hardening // {
            Type = "oneshot";
            ExecStart = execLine [
              bin
              "purge"
              "--store"
              cfg.store
              "--older-than"
              cfg.retention
            ];
            DynamicUser = false;
            User = cfg.user;
            Group = cfg.group;
            StateDirectory = "sov-wf";
            StateDirectoryMode = "0700";
            LoadCredential = lib.optional (passFile != null) "pgpass:${passFile}";
            ReadWritePaths = lib.optional (
              storeFile != null && !(lib.hasPrefix "${stateDir}/" storeFile)
            ) "-${dirOf storeFile}";
          };
        };
        systemd.timers.sov-wf-purge = {
          wantedBy = [ "timers.target" ];
          timerConfig = {
            OnCalendar = "daily";
            Persistent = true;
            RandomizedDelaySec = "1h";
          };
        };
      })

      (lib.mkIf (localDb != null) {
        services.postgresql.ensureDatabases = [ localDb ];
        services.postgresql.ensureUsers = [ { name = cfg.user; } ];

        # ensureDBOwnership needs the role and the database to share a name
        # (sov-wf is not a good database name, sov_wf not a user name).
        systemd.services.sov-wf-pg-owner = util.psqlAsPostgres {
          description = "sov-wf: give the database ${localDb} to the role ${cfg.user}";
          inherit pg;
          sql = "ALTER DATABASE \"${localDb}\" OWNER TO \"${cfg.user}\"";
          hardening = config.sov.lib.hardening;
        };
      })
    ]
  );
}
