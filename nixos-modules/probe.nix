# services.sov.probe: the sov-probe daemon (docs/probe-targets.md is the
# format of the targets). One unit:
#
#   sov-probe.service   `sov-probe daemon`: probes every target on its
#                       interval, writes the measurements, alerts on state
#                       changes, keeps /var/lib/sov-probe/state.json and,
#                       with page.enable, the status page
#
# The targets (targets, defaults, alerts) become one JSON file in the Nix
# store that `sov-probe validate` checks while the system is built: a bad
# target fails the build, never the running daemon. The file is linked at
# /etc/sov-probe/targets.json, which the unit names, so a change of targets
# alone reloads the daemon (SIGHUP, reloadTriggers) and keeps its state.
#
# Secrets reach the daemon only as systemd credentials (LoadCredential):
# `%d/NAME` in a url_file, ca_file, argv or alert command is the file of the
# credential NAME. Never in the store, argv or the environment.
#
# No root and no capability unless a target needs one: `wireguard` targets
# get CAP_NET_ADMIN (`wg show`), `backup` targets CAP_DAC_READ_SEARCH (the
# repository is sov-backup's, 0700); `icmp` targets need the ping sysctl,
# set here. The host profile's default targets are nixos-modules/profiles/
# probe.nix.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.sov.probe;
  pg = config.services.postgresql;

  user = "sov-probe";
  stateDir = "/var/lib/sov-probe";
  socketDir = "/run/postgresql";
  # Where systemd puts the unit's credentials ($CREDENTIALS_DIRECTORY).
  credentialsDir = "/run/credentials/sov-probe.service";
  etcTargets = "/etc/sov-probe/targets.json";
  bin = "${cfg.package}/bin/sov-probe";

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

  nameRe = "[a-z0-9][a-z0-9_.-]{0,63}";
  probeTypes = [
    "http"
    "tcp"
    "tls"
    "dns"
    "icmp"
    "disk"
    "postgres"
    "sqlite"
    "command"
    "systemd"
    "wireguard"
    "backup"
  ];

  # The targets that are on, as written (without the Nix-only `enable`).
  targets = lib.mapAttrs (_: t: removeAttrs t [ "enable" ]) (
    lib.filterAttrs (_: t: t.enable) cfg.targets
  );
  typeOf = t: t.type or null;
  ofType = ty: lib.filterAttrs (_: t: typeOf t == ty) targets;
  has = ty: ofType ty != { };
  listOf = v: if builtins.isList v then v else [ ];

  # `%d/NAME`: the credential NAME, as in a unit file. Only whole values of
  # the fields that name files or arguments are rewritten.
  credPrefix = "%d/";
  expand =
    v:
    if builtins.isString v && lib.hasPrefix credPrefix v then
      "${credentialsDir}/${lib.removePrefix credPrefix v}"
    else
      v;
  fileFields = [
    "url_file"
    "ca_file"
  ];
  argvFields = [
    "argv"
    "command"
  ];
  render = lib.mapAttrs (
    k: v:
    if lib.elem k fileFields then
      expand v
    else if lib.elem k argvFields && builtins.isList v then
      map expand v
    else
      v
  );
  credRefs =
    obj:
    map (lib.removePrefix credPrefix) (
      lib.filter (v: builtins.isString v && lib.hasPrefix credPrefix v) (
        map (k: obj.${k} or null) fileFields ++ lib.concatMap (k: listOf (obj.${k} or null)) argvFields
      )
    );

  document = {
    defaults = render cfg.defaults;
    alerts = lib.mapAttrs (_: render) cfg.alerts;
    targets = lib.mapAttrs (_: render) targets;
  };

  # The targets file, checked as the daemon will load it.
  targetsJson = pkgs.writeText "sov-probe-targets.json" (builtins.toJSON document);
  targetsFile =
    pkgs.runCommand "sov-probe-targets.json"
      {
        nativeBuildInputs = [ cfg.package ];
        targets = targetsJson;
      }
      ''
        # Exit 2, naming the field, when anything is invalid; the network
        # and the credentials are not touched.
        sov-probe validate "$targets"
        cp "$targets" "$out"
      '';

  metricsFile = sqliteFile cfg.metrics;
  passFile = cfg.postgresql.passFile;

  # PostgreSQL targets on this host's server through its socket, with peer
  # authentication as the role sov-probe.
  localPg = lib.filterAttrs (
    _: t:
    builtins.isString (t.url or null)
    && builtins.match "postgres(ql)?:///.*" t.url != null
    && lib.hasInfix "host=${socketDir}" t.url
  ) (ofType "postgres");
  pgUnits = lib.optionals (localPg != { } && pg.enable) [
    "postgresql.service"
    "postgresql-setup.service"
  ];

  # What targets need beyond the shared hardening.
  needNetAdmin = has "wireguard";
  needReadAll = has "backup";
  capabilities =
    lib.optional needNetAdmin "CAP_NET_ADMIN" ++ lib.optional needReadAll "CAP_DAC_READ_SEARCH";

  # The page: served on the mesh address only.
  page = cfg.page;
  serving = page.enable && page.serve;
  nginxAddr = a: if lib.hasInfix ":" a then "[${util.bareAddress a}]" else a;

  daemonArgs = [
    bin
    "daemon"
    "--targets"
    etcTargets
  ]
  ++ lib.optionals (cfg.metrics != null) [
    "--metrics"
    cfg.metrics
  ]
  ++ lib.optionals (cfg.concurrency != null) [
    "--concurrency"
    (toString cfg.concurrency)
  ]
  ++ lib.optionals page.enable [
    "--page"
    page.dir
  ]
  ++ lib.optionals (page.enable && page.every != null) [
    "--page-every"
    page.every
  ]
  # Rollups need a store to read and write.
  ++ lib.optionals (cfg.metrics != null && cfg.rollup.after != null) [
    "--rollup-after"
    cfg.rollup.after
  ]
  ++ lib.optionals (cfg.metrics != null && cfg.rollup.keep != null) [
    "--keep"
    cfg.rollup.keep
  ]
  ++ cfg.extraArgs;

  credentialLines =
    lib.mapAttrsToList (name: path: "${name}:${path}") cfg.credentials
    ++ lib.optional (passFile != null) "pgpass:${passFile}";

  unknownTypes = lib.attrNames (lib.filterAttrs (_: t: !(lib.elem (typeOf t) probeTypes)) targets);
  badNames = lib.filter (n: builtins.match nameRe n == null) (
    lib.attrNames targets ++ lib.attrNames cfg.alerts
  );

  # target -> the alert names it uses that are not defined.
  missingAlerts = lib.filterAttrs (_: ms: ms != [ ]) (
    lib.mapAttrs (
      _: t: lib.filter (a: !(builtins.isString a) || !(cfg.alerts ? ${a})) (listOf (t.alerts or null))
    ) targets
  );
  # target or alert -> the credentials it names that are not loaded.
  credentialNames = lib.attrNames cfg.credentials ++ lib.optional (passFile != null) "pgpass";
  missingCreds = lib.filterAttrs (_: ms: ms != [ ]) (
    lib.mapAttrs (_: o: lib.filter (c: !(lib.elem c credentialNames)) (credRefs o)) (
      lib.mapAttrs' (n: v: lib.nameValuePair "targets.${n}" v) targets
      // lib.mapAttrs' (n: v: lib.nameValuePair "alerts.${n}" v) cfg.alerts
      // {
        inherit (cfg) defaults;
      }
    )
  );
  pgPasswords = lib.attrNames (lib.filterAttrs (_: t: urlHasPassword (t.url or null)) (ofType "postgres"));
  showNames = ns: builtins.toJSON ns;

  # Alerts that run `sov-wf enqueue`: the queue of this host's worker, when
  # it has one (the daemon's children would otherwise find a store of
  # their own in the probe's state directory).
  enqueueAlerts = lib.attrNames (lib.filterAttrs (_: a: a ? enqueue) cfg.alerts);
  wf = config.services.sov.wf;
  unitEnvironment = {
    SOV_STATE_DIR = stateDir;
  }
  // lib.optionalAttrs (enqueueAlerts != [ ] && wf.enable) { SOV_WF_STORE = wf.store; }
  // lib.optionalAttrs (passFile != null) { PGPASSFILE = "%d/pgpass"; }
  // cfg.environment;

  targetModule = {
    freeformType = types.attrsOf jsonValue;
    options.enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Probe this target. Nix only (not written to the file): false leaves
        out a target defined elsewhere, e.g. one of the host profile's.
      '';
    };
  };
in
{
  options.services.sov.probe = {
    enable = lib.mkEnableOption "the sov-probe daemon (sov-probe.service)";

    package = lib.mkPackageOption pkgs "sov" { };

    targets = mkOption {
      type = types.attrsOf (types.submodule targetModule);
      default = { };
      example = lib.literalExpression ''
        {
          shop = {
            type = "http";
            url = "https://shop.example.com/health";
            status = [ 200 ];
            contains = "ok";
            cert_days = 14;
            alerts = [ "ops" ];
          };
          orders-db = {
            type = "postgres";
            url_file = "%d/orders-db";   # services.sov.probe.credentials.orders-db
            query = "SELECT count(*) AS n FROM orders WHERE paid IS NULL";
            jq = ".[0].n < 50";
          };
          mesh-ping = { type = "icmp"; host = "10.77.0.2"; interval = "1m"; };
        }
      '';
      description = ''
        Probe targets by name (`[a-z0-9][a-z0-9_.-]{0,63}`), each a JSON
        object as docs/probe-targets.md defines it: `type` (${lib.concatStringsSep ", " probeTypes}),
        the type's fields, and `interval`, `timeout`, `failures`,
        `successes`, `tags`, `alerts`. Written with builtins.toJSON; no
        secrets in them, the store is readable by all.

        `%d/NAME` as a whole `url_file`, `ca_file` or `argv` element stands
        for the credential NAME (see `credentials`), as in a unit file.

        Each target is a set of attributes that merge: a host sets one
        field of a profile's default target
        (`targets.disk-root.min_free_percent = 5;`) or leaves the target
        out (`targets.disk-root.enable = false;`).

        What a type needs is given to the unit only when a target of that
        type exists:
        - `wireguard`: CAP_NET_ADMIN (ambient) for `wg show`, netlink
          sockets, and wireguard-tools on PATH.
        - `icmp`: ping sockets, which net.ipv4.ping_group_range must allow
          for the service's group; this module sets it to
          `0 2147483647` (every group, systemd's own default) at
          mkDefault priority. A host that narrows it must keep the gid of
          the group sov-probe inside.
        - `systemd`: systemctl on PATH (it asks the system manager over
          D-Bus; no privilege).
        - `backup`: sov-backup reads the repository, which belongs to
          sov-backup (mode 0700), so the unit gets CAP_DAC_READ_SEARCH
          (read and search checks bypassed, nothing else), and the
          repository's password as a credential: for a job of
          services.sov.backup on this host, `credentials.backup-JOB =
          jobs.JOB.passwordFile` and `"--password-file" "%d/backup-JOB"` in
          the argv (the host profile writes exactly that for every job).
        - `postgres` on this host's server (`postgresql:///DB?host=${socketDir}`):
          the role sov-probe (peer authentication) is created. A server
          elsewhere takes its password from a file: `url_file` with a
          credential, or `postgresql.passFile`.
      '';
    };

    defaults = mkOption {
      type = types.attrsOf jsonValue;
      default = { };
      example = {
        interval = "1m";
        timeout = "10s";
        failures = 3;
      };
      description = "The file's `defaults`: what every target has unless it says otherwise.";
    };

    alerts = mkOption {
      type = types.attrsOf (types.attrsOf jsonValue);
      default = { };
      example = lib.literalExpression ''
        {
          ops.command = [ "notify-ops" ];
          chat = {
            webhook = "https://chat.example.com/hooks/ops";
            headers.Authorization = "see credentials";
          };
          page-oncall.enqueue = "oncall";
        }
      '';
      description = ''
        Alert actions by name, run when a target that lists the name in its
        `alerts` changes state: `{ command = [ ARGV ]; }`,
        `{ webhook = URL; headers = { ... }; }` or `{ enqueue = WORKFLOW; }`
        (`sov-wf enqueue`, run as the user sov-probe: on a host whose
        services.sov.wf is enabled SOV_WF_STORE is the worker's store,
        elsewhere set `environment.SOV_WF_STORE`; either way the user
        sov-probe needs the right to write the queue, e.g. a PostgreSQL
        grant to the role sov-probe). A target naming an alert that is
        not here fails evaluation.
      '';
    };

    targetsFile = mkOption {
      type = types.package;
      readOnly = true;
      default = targetsFile;
      defaultText = lib.literalMD "a file built from `targets`, `defaults` and `alerts`";
      description = ''
        The targets file the daemon reads, validated by `sov-probe validate`
        when it is built. Linked at ${etcTargets}, for the unit and for an
        operator's `sov-probe run --targets ${etcTargets}`.
      '';
    };

    metrics = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "postgresql:///sov?host=/run/postgresql";
      description = ''
        The measurements store (`--metrics`): `sqlite:/ABS/PATH` or a
        PostgreSQL URL without a password (a server elsewhere takes it from
        `postgresql.passFile`). null: measurements go to the journal as
        JSON lines, and nothing is rolled up.
      '';
    };

    concurrency = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      description = "Probes run at once (`--concurrency`); null: sov-probe's default.";
    };

    credentials = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        orders-db = "/run/secrets/orders-db-url";
      };
      description = ''
        systemd credentials of the daemon: NAME = file outside the Nix
        store, read by systemd at each start (LoadCredential=NAME:FILE) and
        seen by the daemon and the commands it runs as
        ${credentialsDir}/NAME, which `%d/NAME` in a target's `url_file`,
        `ca_file` or `argv` (and an alert's `command`) stands for. A target
        naming a credential that is not here fails evaluation.
      '';
    };

    postgresql.passFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/secrets/sov-probe-pgpass";
      description = ''
        A libpq password file (lines `host:port:database:user:password`),
        outside the Nix store, for a measurements store or postgres
        targets on a server elsewhere. It reaches the daemon as the
        credential `pgpass`, named by PGPASSFILE.
      '';
    };

    page = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Keep a static status page (`--page`): `dir`/index.html, written
          by the daemon.
        '';
      };
      dir = mkOption {
        type = types.str;
        default = "${stateDir}/page";
        description = "Where the page is written: a directory under ${stateDir}.";
      };
      every = mkOption {
        type = types.nullOr duration;
        default = null;
        example = "1m";
        description = "How often the page is written again (`--page-every`); null: sov-probe's default.";
      };
      serve = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Serve the page with nginx (services.nginx, turned on here at
          mkDefault priority) on `address`:`port` only, the port opened on
          the mesh interface only. false: only the files are written.
        '';
      };
      address = mkOption {
        type = types.nullOr types.str;
        default = config.sov.mesh.address or null;
        defaultText = lib.literalExpression "config.sov.mesh.address or null";
        example = "10.77.0.1";
        description = "The address nginx serves the page on: this host's mesh address (an IP).";
      };
      port = mkOption {
        type = types.port;
        default = 8471;
        description = "TCP port of the page; opened on the mesh interface only.";
      };
      interface = mkOption {
        type = types.str;
        default = config.sov.mesh.interface or "wg-sov";
        defaultText = lib.literalExpression ''config.sov.mesh.interface or "wg-sov"'';
        description = "The mesh interface, the only one whose firewall opens the port.";
      };
    };

    rollup = {
      after = mkOption {
        type = types.nullOr duration;
        default = "7d";
        description = ''
          Measurements older than this are rolled up into hourly summaries
          by the daemon (`--rollup-after`). Only with a `metrics` store.
          null: not rolled up.
        '';
      };
      keep = mkOption {
        type = types.nullOr duration;
        default = "400d";
        description = "Summaries older than this are deleted (`--keep`). Only with a `metrics` store; null: kept for ever.";
      };
    };

    path = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ pkgs.curl pkgs.jq ]";
      description = ''
        Packages whose bin/ `command` targets and alert commands find on
        PATH. The sov tools are always on it, and what a target type needs
        (systemctl, wg) is added by itself.
      '';
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Environment of the daemon and the commands it runs. No secrets: it lands in the unit file.";
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "More arguments for `sov-probe daemon`.";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions =
          lib.concatLists (
            lib.mapAttrsToList (n: p: secretAssertions "services.sov.probe.credentials.${n}" p) cfg.credentials
          )
          ++ lib.optionals (passFile != null) (secretAssertions "services.sov.probe.postgresql.passFile" passFile)
          ++ [
            {
              assertion = targets != { };
              message = "sov: services.sov.probe has no targets: set services.sov.probe.targets (or keep sov.probe.hostTargets.enable on).";
            }
            {
              assertion = badNames == [ ];
              message = "sov: services.sov.probe: the names ${showNames badNames} are not names: 1 to 64 of [a-z0-9_.-], starting with a letter or digit.";
            }
            {
              assertion = unknownTypes == [ ];
              message = "sov: services.sov.probe.targets: ${showNames unknownTypes} have no known `type` (one of ${lib.concatStringsSep ", " probeTypes}).";
            }
            {
              assertion = missingAlerts == { };
              message = "sov: services.sov.probe.targets: alerts that services.sov.probe.alerts does not define: ${
                lib.concatStringsSep "; " (lib.mapAttrsToList (n: ms: "${n} uses ${showNames ms}") missingAlerts)
              }.";
            }
            {
              assertion = missingCreds == { };
              message = "sov: services.sov.probe: %d/NAME names credentials that services.sov.probe.credentials lacks: ${
                lib.concatStringsSep "; " (lib.mapAttrsToList (n: ms: "${n} uses ${showNames ms}") missingCreds)
              } (add services.sov.probe.credentials.NAME = \"/run/secrets/...\").";
            }
            {
              assertion = pgPasswords == [ ];
              message = "sov: services.sov.probe.targets: ${showNames pgPasswords} carry a password in `url`, and the targets file is world-readable in the Nix store: put the URL in a file and give it as url_file = \"%d/NAME\" with services.sov.probe.credentials.NAME.";
            }
            {
              assertion = lib.all util.credentialName (lib.attrNames cfg.credentials);
              message = "sov: services.sov.probe.credentials: names are 1 to 64 of letters, digits, '_', '.', '-' (not . or ..), got ${showNames (lib.attrNames cfg.credentials)}.";
            }
            {
              assertion = passFile == null || !(cfg.credentials ? pgpass);
              message = "sov: services.sov.probe.credentials.pgpass: the name is taken by postgresql.passFile.";
            }
            {
              assertion = !(urlHasPassword cfg.metrics);
              message = "sov: services.sov.probe.metrics carries a password, and unit files are world-readable in the Nix store: use the local socket with peer authentication, an sqlite: store, or services.sov.probe.postgresql.passFile.";
            }
            {
              assertion =
                cfg.metrics == null
                || metricsFile != null && lib.hasPrefix "/" metricsFile
                || builtins.match "postgres(ql)?://.*" cfg.metrics != null;
              message = "sov: services.sov.probe.metrics ${builtins.toJSON cfg.metrics}: want sqlite:/ABS/PATH or postgresql://...";
            }
            {
              assertion = !page.enable || lib.hasPrefix "${stateDir}/" page.dir && !(lib.hasInfix ".." page.dir);
              message = "sov: services.sov.probe.page.dir ${builtins.toJSON page.dir}: the page is written under the state directory, ${stateDir}/NAME.";
            }
            {
              assertion = !serving || config.services.nginx.enable;
              message = "sov: services.sov.probe.page is served by nginx, but services.nginx.enable is false: turn nginx on, or set services.sov.probe.page.serve = false to only write the files.";
            }
            {
              assertion = !serving || page.address != null;
              message = "sov: services.sov.probe.page.serve needs page.address: this host's mesh address (sov.mesh.address).";
            }
            {
              assertion = !serving || page.address == null || isIpLiteral page.address && !(isWildcard page.address);
              message = "sov: services.sov.probe.page.address ${builtins.toJSON page.address}: want this host's mesh address, an IP (never every address: the page is for the mesh only).";
            }
          ];

        warnings = lib.optional (enqueueAlerts != [ ] && !(unitEnvironment ? SOV_WF_STORE)) "sov: services.sov.probe.alerts ${showNames enqueueAlerts} enqueue workflows, but this host runs no sov-wf worker and services.sov.probe.environment has no SOV_WF_STORE: sov-wf would enqueue into a queue of its own that nothing works on.";

        users.users.${user} = {
          isSystemUser = true;
          group = user;
          description = "sov-probe: runs the health checks";
        };
        users.groups.${user} = { };

        environment.etc."sov-probe/targets.json".source = targetsFile;
        # An operator's `sov-probe run` and `validate` on this host read the
        # daemon's targets without options.
        environment.variables.SOV_PROBE_TARGETS = etcTargets;

        # Ping sockets for the service's group (kernel default "1 0": none).
        boot.kernel.sysctl = lib.mkIf (has "icmp") {
          "net.ipv4.ping_group_range" = lib.mkDefault "0 2147483647";
        };

        services.postgresql.ensureUsers = lib.mkIf (localPg != { } && pg.enable) [ { name = user; } ];

        systemd.services.sov-probe = {
          description = "sov-probe: health checks, alerts and the status page";
          wantedBy = [ "multi-user.target" ];
          wants = [ "network-online.target" ];
          # Ordered after the local server only (the probe reports it
          # down; it does not wait for it).
          after = [ "network-online.target" ] ++ pgUnits;
          path = [
            cfg.package
          ]
          ++ lib.optional (has "systemd") pkgs.systemd
          ++ lib.optional needNetAdmin pkgs.wireguard-tools
          ++ cfg.path;
          environment = unitEnvironment;
          # A new targets file alone is a reload (SIGHUP): state is kept.
          reloadTriggers = [ targetsFile ];
          # A store that is down makes the daemon exit 75: keep trying.
          unitConfig.StartLimitIntervalSec = 0;
          serviceConfig =
            config.sov.lib.hardening
            # Exit 2 is bad input (the targets, an option): never restarted.
            // util.restartAlways
            // {
              Type = "exec";
              ExecStart = execLine daemonArgs;
              ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
              # The page's directory, made by the daemon's user once the
              # state directory exists: the daemon writes into it, nginx
              # reads it by group.
              ExecStartPre = lib.optional page.enable (execLine [
                "${pkgs.coreutils}/bin/install"
                "-d"
                "-m"
                "0750"
                page.dir
              ]);
              # Relaxed: a fixed user is the PostgreSQL role of local
              # postgres targets (peer authentication), owns the page that
              # nginx reads by group, and can be given files (an SQLite
              # database to probe) before the first start.
              DynamicUser = false;
              User = user;
              Group = user;
              StateDirectory = "sov-probe";
              # Relaxed with a served page: nginx, in the group sov-probe,
              # may pass through to page/ (0750; sov-probe writes the page
              # 0644 whatever the umask), not list the rest.
              StateDirectoryMode = if serving then "0710" else "0700";
              WorkingDirectory = stateDir;
              LoadCredential = credentialLines;
              ReadWritePaths = lib.optional (
                metricsFile != null && !(lib.hasPrefix "${stateDir}/" metricsFile)
              ) "-${dirOf metricsFile}";
            }
            // lib.optionalAttrs (capabilities != [ ]) {
              # Relaxed: wireguard targets run `wg show` (netlink, which
              # needs CAP_NET_ADMIN); backup targets read sov-backup's
              # repository (CAP_DAC_READ_SEARCH: read and search checks
              # bypassed, nothing else). Only what the targets need.
              CapabilityBoundingSet = capabilities;
              AmbientCapabilities = capabilities;
              # Relaxed: in a private user namespace the capabilities would
              # not reach the host's network or other users' files.
              PrivateUsers = false;
            }
            // lib.optionalAttrs needNetAdmin {
              # Relaxed: `wg show` talks to the kernel over netlink.
              RestrictAddressFamilies = [
                "AF_UNIX"
                "AF_INET"
                "AF_INET6"
                "AF_NETLINK"
              ];
            }
            // lib.optionalAttrs (metricsFile != null) {
              # A measurements store shared by sov services is the group sov's.
              SupplementaryGroups = [ "sov" ];
            };
        };
      }

      (lib.mkIf serving {
        services.nginx.enable = lib.mkDefault true;
        users.users.${config.services.nginx.user}.extraGroups = [ user ];
        services.nginx.virtualHosts.sov-probe-page = lib.mkIf (page.address != null) {
          listen = [
            {
              addr = nginxAddr page.address;
              inherit (page) port;
            }
          ];
          root = page.dir;
          extraConfig = ''
            autoindex off;
          '';
        };
        # The mesh only (nixos-modules/host.nix leaves per-interface ports
        # alone; a public one would fail its check).
        networking.firewall.interfaces.${page.interface}.allowedTCPPorts = [ page.port ];
      })
    ]
  );
}
