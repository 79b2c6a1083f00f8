# The evaluation cases of services.sov.wf (nixos-modules/wf.nix), evaluated
# on heart; part of the group "modules" of tests/nix/cases.nix, which passes
# its helpers in. Expected values are written out here, never read from the
# module under test.
{
  lib,
  case,
  show,
  extend,
  failedAssertions,
  someFailedMentions,
  kept,
}:
let
  inherit (lib) all hasInfix;

  # A definition with a signed webhook, an enqueue trigger and a step whose
  # argv needs quoting in JSON but not in the unit (it is in a file).
  lead = {
    name = "lead";
    version = 1;
    triggers = [
      { enqueue = true; }
      {
        webhook = {
          path = "/hooks/lead";
          secret_credential = "lead-webhook";
        };
      }
    ];
    steps = {
      enrich.run = [ "lead-enrich" ];
      score = {
        needs = [ "enrich" ];
        jq = "{score: (if .free_mail then 10 else 60 end)}";
      };
    };
    measure.human_minutes = 12;
  };
  ping = {
    name = "ping";
    version = 3;
    triggers = [ { cron = "*/5 * * * *"; } ];
    steps.ping.run = [
      "curl"
      "-fsS"
      "https://example.com/health"
    ];
  };
  secret = "/run/secrets/lead-webhook";
  pgpass = "/run/secrets/sov-wf-pgpass";

  wfWith = modules: extend "heart" ([ { services.sov.wf.enable = true; } ] ++ modules);
  wfOf = settings: wfWith [ { services.sov.wf = settings; } ];
  pgOn = {
    services.postgresql.enable = true;
  };

  unitOf = cfg: cfg.systemd.services.sov-wf-worker or { };
  scOf = cfg: (unitOf cfg).serviceConfig or { };
  execOf = cfg: (scOf cfg).ExecStart or "";
  sovFailed = cfg: lib.filter (hasInfix "sov:") (failedAssertions cfg);

  # The smallest useful worker: one definition, everything else default.
  plain = wfOf { workflows.ping = ping; };
  plainDir = plain.services.sov.wf.workflowsDir;
  plainBin = "${plain.services.sov.wf.package}/bin/sov-wf";
  plainWant = "${plainBin} worker --store sqlite:/var/lib/sov-wf/wf.db --workflows ${plainDir.outPath} --lease 30s";
  plainUnit = unitOf plain;
  plainSc = scOf plain;

  # Every option that changes the command line.
  full = wfOf {
    workflows.lead = lead;
    credentials.lead-webhook = secret;
    threads = 8;
    lease = "1h30m";
    dlq = {
      base = "10m";
      max = "1d";
    };
    webhook = {
      enable = true;
      address = "10.77.0.1";
      port = 9000;
    };
    metrics = "sqlite:/var/lib/sov/measurements.sqlite";
    name = "heart 1";
    extraArgs = [ "--label=100%" ];
  };
  fullDir = full.services.sov.wf.workflowsDir;
  fullWant = lib.concatStringsSep " " [
    "${plainBin} worker --store sqlite:/var/lib/sov-wf/wf.db --workflows ${fullDir.outPath}"
    "--lease 1h30m --threads 8 --dlq-base 10m --dlq-max 1d --webhook 10.77.0.1:9000"
    "--metrics sqlite:/var/lib/sov/measurements.sqlite"
    # A blank quoted, % doubled (systemd would read %  as a specifier).
    ''--name "heart 1" --label=100%%''
  ];
  v6 = wfOf {
    workflows.ping = ping;
    webhook = {
      enable = true;
      address = "fd00:77::1";
    };
  };

  # Definitions from attributes and from files, side by side.
  files = wfOf {
    workflows = {
      inherit lead ping;
    };
    workflowFiles = [ ../../examples/workflows/nightly-report.json ];
    credentials.lead-webhook = secret;
  };
  filesDir = files.services.sov.wf.workflowsDir;
  # name -> JSON text, from the directory's parallel lists.
  filesContent = lib.listToAttrs (
    lib.zipListsWith (
      n: src: lib.nameValuePair n (if builtins.isAttrs src then builtins.fromJSON src.text else toString src)
    ) filesDir.fileNames filesDir.fileSources
  );
  filesWant = {
    "lead.json" = lead;
    "ping.json" = ping;
    "nightly-report.json" = toString ../../examples/workflows/nightly-report.json;
  };
  buildScript = filesDir.buildCommand or "";
  buildTools = map (p: p.pname or p.name or "?") (filesDir.nativeBuildInputs or [ ]);

  # Retention: the daily purge.
  purgeOf = cfg: (cfg.systemd.services.sov-wf-purge or { }).serviceConfig or { };
  kept30 = wfOf {
    workflows.ping = ping;
    retention = "30d";
  };
  forever = wfOf {
    workflows.ping = ping;
    retention = null;
  };

  mismatch = wfOf { workflows.leads = lead; };
  badName = wfOf { workflows."../lead" = lead // { name = "../lead"; }; };
  nothing = wfOf { };
  twice = wfOf {
    workflows.ping = ping;
    workflowFiles = [ "/nix/store/00000000000000000000000000000000-ping.json" ];
  };
  foreignFile = wfOf {
    workflows.ping = ping;
    workflowFiles = [ "/etc/sov/lead.json" ];
  };

  hookAt =
    address: extra:
    wfOf (
      {
        workflows.ping = ping;
        webhook = {
          enable = true;
          inherit address;
        }
        // extra;
      }
    );
  any4 = hookAt "0.0.0.0" { };
  any6 = hookAt "::" { };
  any6b = hookAt "[::]" { };
  anyOpen = hookAt "0.0.0.0" { openToAll = true; };
  noAddress = wfOf {
    workflows.ping = ping;
    webhook.enable = true;
  };
  named = hookAt "heart.mesh" { };
  meshHook = hookAt "10.77.0.1" { };
  otherIf = hookAt "10.77.0.1" { interface = "wg1"; };
  # Where a TCP port is open: publicly, and on which interfaces (NixOS's
  # own "default" entry mirrors the public ports, so it is left out).
  fwOf = cfg: port: {
    public = lib.elem port cfg.networking.firewall.allowedTCPPorts;
    interfaces = lib.attrNames (
      lib.filterAttrs (n: i: n != "default" && lib.elem port i.allowedTCPPorts) cfg.networking.firewall.interfaces
    );
  };
  meshOnly = iface: {
    public = false;
    interfaces = [ iface ];
  };

  noCredential = wfOf { workflows.lead = lead; };
  otherCredential = wfOf {
    workflows.lead = lead;
    credentials.other = secret;
  };

  creds = wfOf {
    workflows.lead = lead;
    credentials = {
      lead-webhook = secret;
      api-token = "/run/secrets/api-token";
    };
    postgresql.passFile = pgpass;
    store = "postgresql://wf@db.example/sov_wf";
  };
  credsSc = scOf creds;
  credsUnit = unitOf creds;
  # Where a secret must never be: argv, the environment, the unit's
  # environment settings.
  exposed =
    cfg:
    [ (execOf cfg) ]
    ++ map toString (lib.attrValues (unitOf cfg).environment)
    ++ map toString (lib.toList ((scOf cfg).Environment or [ ]))
    ++ map toString (lib.toList ((scOf cfg).EnvironmentFile or [ ]));
  leaks = lib.filter (v: hasInfix "/run/secrets" v) (exposed creds);
  storeSecret = wfOf {
    workflows.lead = lead;
    credentials.lead-webhook = "/nix/store/00000000000000000000000000000000-secret";
  };
  relSecret = wfOf {
    workflows.lead = lead;
    credentials.lead-webhook = "secrets/lead";
  };

  storePassword = wfOf {
    workflows.ping = ping;
    store = "postgresql://sov:hunter2@db.example/sov_wf";
  };
  storePasswordParam = wfOf {
    workflows.ping = ping;
    store = "postgresql://db.example/sov_wf?user=sov&password=hunter2";
  };
  metricsPassword = wfOf {
    workflows.ping = ping;
    metrics = "postgresql://sov:hunter2@db.example/metrics";
  };
  badStore = wfOf {
    workflows.ping = ping;
    store = "mysql://db.example/wf";
  };

  localUrl = "postgresql:///sov_wf?host=/run/postgresql";
  local = wfWith [
    pgOn
    {
      services.sov.wf = {
        workflows.ping = ping;
        store = localUrl;
      };
    }
  ];
  localUnit = unitOf local;
  owner = local.systemd.services.sov-wf-pg-owner or { };
  localNoPg = wfOf {
    workflows.ping = ping;
    store = localUrl;
  };
  localManual = wfOf {
    workflows.ping = ping;
    store = localUrl;
    postgresql.createLocally = false;
  };
  localPort = wfWith [
    pgOn
    { services.postgresql.settings.port = 5433; }
    {
      services.sov.wf = {
        workflows.ping = ping;
        store = localUrl;
      };
    }
  ];
  localPortOk = wfWith [
    pgOn
    { services.postgresql.settings.port = 5433; }
    {
      services.sov.wf = {
        workflows.ping = ping;
        store = "${localUrl}&port=5433";
      };
    }
  ];
  remote = wfWith [
    pgOn
    {
      services.sov.wf = {
        workflows.ping = ping;
        store = "postgresql://db.example/sov_wf";
      };
    }
  ];
  # host= naming a server, not the socket directory.
  remoteParam = wfWith [
    pgOn
    {
      services.sov.wf = {
        workflows.ping = ping;
        store = "postgresql:///sov_wf?host=db.example";
      };
    }
  ];
  # The roles sov-wf asks for (the probe's host targets add sov-probe on a
  # host with PostgreSQL; tests/nix/cases-probe.nix checks that one).
  pgUsers = cfg: lib.filter (n: n != "sov-probe") (map (u: u.name) cfg.services.postgresql.ensureUsers);

  env = wfOf {
    workflows.ping = ping;
    path = [
      {
        type = "derivation";
        pname = "jq";
        name = "jq";
        outPath = "/nix/store/00000000000000000000000000000000-jq";
      }
    ];
    environment.LEAD_DB = "/var/lib/sov-wf/customers.db";
    store = "sqlite:/srv/wf/queue.db";
  };
  envUnit = unitOf env;

  quietHooks = wfOf {
    workflows.lead = lead;
    credentials.lead-webhook = secret;
  };
  wfWarnings = cfg: lib.filter (hasInfix "services.sov.wf") cfg.warnings;
in
[
  (case "wf: off by default: no sov-wf user, unit, firewall port or environment" (
    let
      h = extend "heart" [ ];
    in
    !(h.users.users ? sov-wf)
    && !(h.systemd.services ? sov-wf-worker)
    && !(h.networking.firewall.interfaces ? wg-sov)
    && !(h.environment.variables ? SOV_WF_STORE)
  ) "the module did something while disabled")
  (case "wf: a valid worker fails no sov assertion" (
    all (c: sovFailed c == [ ]) [
      plain
      full
      v6
      files
      creds
      local
      localPortOk
      remote
      env
      anyOpen
    ]
  ) "failing: ${
    show (
      map sovFailed [
        plain
        full
        files
        creds
        local
      ]
    )
  }")
  (case "wf: defaults: ExecStart is sov-wf worker with the state directory's SQLite store, the definitions, the lease" (
    execOf plain == plainWant
  ) "ExecStart ${show (execOf plain)}, wanted ${show plainWant}")
  (case "wf: every option on the command line, each argument quoted for systemd" (execOf full == fullWant)
    "ExecStart ${show (execOf full)}, wanted ${show fullWant}"
  )
  (case "wf: an IPv6 webhook address is bracketed" (hasInfix "--webhook [fd00:77::1]:8470" (execOf v6))
    "ExecStart ${show (execOf v6)}"
  )
  (case "wf: the directory holds NAME.json with the definition's JSON, and the files given" (
    filesContent == filesWant
  ) "got ${show filesContent}")
  (case "wf: the directory is built with sov-wf validate and the credential check" (
    hasInfix ''sov-wf validate "$out"'' buildScript
    && hasInfix "secret_credential" buildScript
    && lib.elem "sov" buildTools
    && filesDir.credentials or null == [ "lead-webhook" ]
    && files.environment.etc."sov-wf/workflows".source.outPath == filesDir.outPath
    && files.environment.variables.SOV_WF_WORKFLOWS or null == "/etc/sov-wf/workflows"
    && files.environment.variables.SOV_WF_STORE or null == "sqlite:/var/lib/sov-wf/wf.db"
  ) "buildCommand ${show buildScript}, tools ${show buildTools}, credentials ${show (filesDir.credentials or null)}")
  (case "wf: a definition whose name is not its attribute name fails an assertion" (
    someFailedMentions mismatch [
      "services.sov.wf.workflows.leads"
      "\"lead\""
    ]
  ) "failing: ${show (failedAssertions mismatch)}")
  (case "wf: a workflow name that is no file name fails an assertion" (
    someFailedMentions badName [
      "../lead"
      "a workflow name"
    ]
  ) "failing: ${show (failedAssertions badName)}")
  (case "wf: no definitions at all fails an assertion" (
    someFailedMentions nothing [ "no definitions" ]
  ) "failing: ${show (failedAssertions nothing)}")
  (case "wf: a file name given twice fails an assertion; a file outside the store and not a path value too" (
    someFailedMentions twice [
      "ping.json"
      "twice"
    ]
    && someFailedMentions foreignFile [
      "/etc/sov/lead.json"
      "path value"
    ]
  ) "failing: ${show (failedAssertions twice ++ failedAssertions foreignFile)}")
  (case "wf: a webhook on 0.0.0.0, :: or [::] fails an assertion; openToAll allows it" (
    all (
      c:
      someFailedMentions c [
        "webhook.address"
        "every address"
      ]
    ) [
      any4
      any6
      any6b
    ]
    && sovFailed anyOpen == [ ]
    && hasInfix "--webhook 0.0.0.0:8470" (execOf anyOpen)
  ) "failing: ${show (map failedAssertions [ any4 any6 any6b anyOpen ])}")
  (case "wf: a host name as the webhook address fails an assertion; IPv4 and IPv6 pass" (
    someFailedMentions named [
      "webhook.address"
      "heart.mesh"
      "IP address"
    ]
    && sovFailed meshHook == [ ]
    && sovFailed v6 == [ ]
  ) "failing: ${show (failedAssertions named)}")
  (case "wf: a webhook without an address fails an assertion" (
    someFailedMentions noAddress [
      "webhook.enable needs webhook.address"
      "mesh address"
    ]
  ) "failing: ${show (failedAssertions noAddress)}")
  (case "wf: the webhook port is opened on the mesh interface only" (
    fwOf meshHook 8470 == meshOnly "wg-sov"
    && fwOf otherIf 8470 == meshOnly "wg1"
    && fwOf anyOpen 8470 == meshOnly "wg-sov"
    && fwOf full 9000 == meshOnly "wg-sov"
    && fwOf plain 8470 == {
      public = false;
      interfaces = [ ];
    }
    && failedAssertions meshHook == [ ]
  ) "firewall: mesh ${show (fwOf meshHook 8470)}, wg1 ${show (fwOf otherIf 8470)}, none ${show (fwOf plain 8470)}")
  (case "wf: a secret_credential without a credential fails an assertion naming it" (
    someFailedMentions noCredential [
      "services.sov.wf.workflows.lead"
      "lead-webhook"
      "credentials"
    ]
    && someFailedMentions otherCredential [ "lead-webhook" ]
    && sovFailed full == [ ]
  ) "failing: ${show (failedAssertions noCredential)}")
  (case "wf: credentials and the pass file become LoadCredential entries, never argv or environment" (
    lib.sort lib.lessThan credsSc.LoadCredential == [
      "api-token:/run/secrets/api-token"
      "lead-webhook:${secret}"
      "pgpass:${pgpass}"
    ]
    && credsUnit.environment.PGPASSFILE or null == "%d/pgpass"
    && leaks == [ ]
    && plainSc.LoadCredential == [ ]
    && !(plainUnit.environment ? PGPASSFILE)
  ) "LoadCredential ${show credsSc.LoadCredential}, environment ${show credsUnit.environment}, leaks ${show leaks}")
  (case "wf: a credential in the Nix store or relative fails an assertion" (
    someFailedMentions storeSecret [
      "credentials.lead-webhook"
      "Nix store"
    ]
    && someFailedMentions relSecret [
      "credentials.lead-webhook"
      "absolute"
    ]
  ) "failing: ${show (failedAssertions storeSecret ++ failedAssertions relSecret)}")
  (case "wf: a password in the store or metrics URL fails an assertion" (
    someFailedMentions storePassword [
      "services.sov.wf.store"
      "password"
    ]
    && someFailedMentions storePasswordParam [
      "services.sov.wf.store"
      "password"
    ]
    && someFailedMentions metricsPassword [
      "services.sov.wf.metrics"
      "password"
    ]
  ) "failing: ${show (map failedAssertions [ storePassword storePasswordParam metricsPassword ])}")
  (case "wf: a store that is neither sqlite: nor postgresql:// fails an assertion" (
    someFailedMentions badStore [
      "services.sov.wf.store"
      "mysql://"
    ]
  ) "failing: ${show (failedAssertions badStore)}")
  (case "wf: a local PostgreSQL store: database and role created, owner set as postgres, worker after them" (
    local.services.postgresql.ensureDatabases == [ "sov_wf" ]
    && pgUsers local == [ "sov-wf" ]
    && owner.serviceConfig.User or null == "postgres"
    && owner.serviceConfig.ExecStart or null
      == ''${local.services.postgresql.package}/bin/psql -X -v ON_ERROR_STOP=1 -h /run/postgresql -p 5432 -d postgres -c "ALTER DATABASE \"sov_wf\" OWNER TO \"sov-wf\""''
    && lib.elem "postgresql.service" (owner.after or [ ])
    && lib.elem "postgresql.service" (owner.requires or [ ])
    && all (u: lib.elem u localUnit.after) [
      "network-online.target"
      "postgresql.service"
      "sov-wf-pg-owner.service"
    ]
    && lib.elem "sov-wf-pg-owner.service" localUnit.requires
    && hasInfix "--store ${localUrl} " (execOf local)
  ) "owner ${show (owner.serviceConfig or null)}, worker after ${show localUnit.after}, requires ${show localUnit.requires}, users ${show (pgUsers local)}")
  (case "wf: a local PostgreSQL store without services.postgresql fails an assertion; createLocally = false leaves it alone" (
    someFailedMentions localNoPg [
      "services.sov.wf.store"
      "services.postgresql.enable is false"
    ]
    && sovFailed localManual == [ ]
    && !(localManual.systemd.services ? sov-wf-pg-owner)
    && localManual.services.postgresql.ensureDatabases == [ ]
  ) "failing: ${show (failedAssertions localNoPg)}")
  (case "wf: a local store on the default port while the server is on 5433 fails; &port=5433 passes" (
    someFailedMentions localPort [ "port=5433" ] && sovFailed localPortOk == [ ]
  ) "failing: ${show (failedAssertions localPort)}")
  (case "wf: a server elsewhere and an SQLite store leave PostgreSQL alone" (
    all (
      c:
      !(c.systemd.services ? sov-wf-pg-owner)
      && c.services.postgresql.ensureDatabases == [ ]
      && pgUsers c == [ ]
      && !(lib.elem "postgresql.service" (unitOf c).after)
      && lib.elem "network-online.target" (unitOf c).after
      && lib.elem "network-online.target" (unitOf c).wants
    ) [
      remote
      remoteParam
      plain
    ]
    && sovFailed remoteParam == [ ]
  ) "remote: ${show remote.systemd.services.sov-wf-worker.after}, host= ${show remoteParam.systemd.services.sov-wf-worker.after}")
  (case "wf: the unit keeps the shared hardening but DynamicUser, runs as sov-wf in /var/lib/sov-wf" (
    kept [ "DynamicUser" ] plainSc == [ ]
    && plainSc.DynamicUser == false
    && plainSc.User == "sov-wf"
    && plainSc.Group == "sov-wf"
    && plainSc.StateDirectory == "sov-wf"
    && plainSc.WorkingDirectory == "/var/lib/sov-wf"
    && plainUnit.environment.SOV_STATE_DIR or null == "/var/lib/sov-wf"
    && plain.users.users.sov-wf.isSystemUser
    && plain.users.users.sov-wf.group == "sov-wf"
    && plain.users.groups ? sov-wf
  ) "settings lost or changed: ${show (kept [ "DynamicUser" ] plainSc)}, ${show { inherit (plainSc) User Group StateDirectory; }}")
  (case "wf: restarted always, soon; stopped after the lease and a margin; SIGTERM to the worker alone" (
    plainSc.Restart == "always"
    && plainSc.RestartSec == "2s"
    && plainSc.RestartPreventExitStatus == [ "2" ]
    && plainSc.TimeoutStopSec == "45s"
    && (scOf full).TimeoutStopSec == "5415s"
    && plainSc.KillMode == "mixed"
    && plainUnit.unitConfig.StartLimitIntervalSec == 0
    && lib.elem "multi-user.target" plainUnit.wantedBy
  ) "${show { inherit (plainSc) Restart RestartSec TimeoutStopSec KillMode; }}, full ${show (scOf full).TimeoutStopSec}")
  (case "wf: path has the sov tools and the packages given; environment added; an outside SQLite store made writable" (
    # (NixOS appends its default path: coreutils, findutils, ...)
    lib.take 2 (map (p: p.pname or p.name) envUnit.path) == [
      "sov"
      "jq"
    ]
    && envUnit.environment.LEAD_DB or null == "/var/lib/sov-wf/customers.db"
    && (scOf env).ReadWritePaths == [ "-/srv/wf" ]
    && plainSc.ReadWritePaths == [ ]
  ) "path ${show (map (p: p.pname or p.name) envUnit.path)}, environment ${show envUnit.environment}, ReadWritePaths ${show (scOf env).ReadWritePaths}")
  (case "wf: SQLite metrics open their directory and join the group sov" (
    (scOf full).ReadWritePaths == [ "-/var/lib/sov" ]
    && (scOf full).SupplementaryGroups or null == [ "sov" ]
    && !(plainSc ? SupplementaryGroups)
  ) "ReadWritePaths ${show (scOf full).ReadWritePaths}, SupplementaryGroups ${show ((scOf full).SupplementaryGroups or null)}")
  (case "wf: a daily purge keeps 90 days by default; retention sets it, null turns it off" (
    (purgeOf plain).ExecStart or "" == "${plainBin} purge --store sqlite:/var/lib/sov-wf/wf.db --older-than 90d"
    && (purgeOf plain).Type or "" == "oneshot"
    && (purgeOf plain).User or "" == "sov-wf"
    && hasInfix "--older-than 30d" ((purgeOf kept30).ExecStart or "")
    && plain.systemd.timers.sov-wf-purge.timerConfig.Persistent or false
    && !(forever.systemd.services ? sov-wf-purge)
    && !(forever.systemd.timers ? sov-wf-purge)
  ) "purge ${show ((purgeOf plain).ExecStart or null)}")
  (case "wf: webhook triggers with the webhook off warn; on, they do not" (
    lib.any (hasInfix "[\"lead\"]") (wfWarnings quietHooks) && wfWarnings full == [ ]
  ) "warnings ${show (wfWarnings quietHooks)}, with the webhook on ${show (wfWarnings full)}")
]
