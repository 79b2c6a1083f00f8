# The evaluation cases, shared by both places that check the modules:
#   tests/nix/run.sh   hosts evaluated with the stand-ins and the nixpkgs lib
#   flake checks       hosts evaluated as the real nixosConfigurations
# `hosts` maps each host name to an evaluation result with `.config` and
# `.extendModules` (lib.evalModules and lib.nixosSystem both return one).
# The result is a list of groups { group; cases = [ { name; ok; msg; } ]; };
# msg says what was expected and what was found, for when ok is false.
#
# Expected values are written out here, never read from the modules under
# test, so a change to a module that breaks a promise fails a case.
{ lib, hosts }:
let
  inherit (lib)
    all
    any
    concatMapStringsSep
    filter
    hasInfix
    mapAttrsToList
    ;

  case = name: ok: msg: { inherit name ok msg; };
  show = builtins.toJSON;
  sortPorts = ps: lib.sort lib.lessThan (lib.unique ps);

  meshPort = 51820;
  hostNames = [
    "heart"
    "brain"
    "gateway"
  ];

  # DESIGN.md: nothing but the gateway's 80/443 and the mesh port is public.
  publicPorts = {
    heart = {
      tcp = [ ];
      udp = [ meshPort ];
    };
    brain = {
      tcp = [ ];
      udp = [ meshPort ];
    };
    gateway = {
      tcp = [
        80
        443
      ];
      udp = [ meshPort ];
    };
  };

  # Every sov service carries these (STYLE.md, the nixpkgs model modules).
  requiredHardening = {
    DynamicUser = true;
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    PrivateUsers = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    ProtectProc = "invisible";
    ProcSubset = "pid";
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
    ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    MemoryDenyWriteExecute = true;
    RemoveIPC = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [
      "@system-service"
      "~@privileged"
      "~@resources"
    ];
    CapabilityBoundingSet = "";
    AmbientCapabilities = "";
    UMask = "0077";
  };

  # A key that is not the placeholder, for the cases that need one.
  someKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm6mQfzaCwOC4J0lYxHgrCCoSWtrTKb6VnK8uBq1tI1 operator@example";

  extend = host: modules: (hosts.${host}.extendModules { inherit modules; }).config;
  failedAssertions = cfg: map (a: a.message) (filter (a: !a.assertion) cfg.assertions);
  someFailedMentions =
    cfg: needles: any (m: all (n: hasInfix n m) needles) (failedAssertions cfg);

  describePorts =
    want:
    let
      part = proto: ps: lib.optional (ps != [ ]) "${proto} ${concatMapStringsSep ", " toString ps}";
    in
    "only " + lib.concatStringsSep " and " (part "tcp" want.tcp ++ part "udp" want.udp);

  firewallOf = cfg: {
    enable = cfg.networking.firewall.enable;
    tcp = sortPorts cfg.networking.firewall.allowedTCPPorts;
    udp = sortPorts cfg.networking.firewall.allowedUDPPorts;
    ranges = cfg.networking.firewall.allowedTCPPortRanges ++ cfg.networking.firewall.allowedUDPPortRanges;
  };
  firewallWant = name: publicPorts.${name} // {
    enable = true;
    ranges = [ ];
  };

  hostCases =
    name:
    let
      cfg = hosts.${name}.config;
      ssh = cfg.services.openssh;
      fw = firewallOf cfg;
      vm = extend name [
        (import ./vm-node.nix { inherit name; })
        # What the test framework's pkgs would otherwise supply.
        { nixpkgs.hostPlatform = "x86_64-linux"; }
      ];
      vmFw = firewallOf vm;
      journal = cfg.services.journald.extraConfig;
      packages = map (p: p.pname or p.name or "?") cfg.environment.systemPackages;
    in
    [
      (case "firewall opens ${describePorts publicPorts.${name}}" (fw == firewallWant name)
        "expected ${show (firewallWant name)}, got ${show fw}"
      )
      (case "hostName and role are ${name}" (
        cfg.networking.hostName == name && cfg.sov.host.role == name
      ) "hostName ${show cfg.networking.hostName}, role ${show cfg.sov.host.role}")
      (case "no assertion fails" (failedAssertions cfg == [ ])
        "failing: ${show (failedAssertions cfg)}"
      )
      (case "base: flakes on, store optimised, weekly persistent GC" (
        lib.elem "flakes" cfg.nix.settings.experimental-features
        && lib.elem "nix-command" cfg.nix.settings.experimental-features
        && cfg.nix.settings.auto-optimise-store
        && cfg.nix.gc.automatic
        && cfg.nix.gc.dates == "weekly"
        && cfg.nix.gc.persistent
      ) "nix.settings ${show { inherit (cfg.nix.settings) experimental-features auto-optimise-store; }}, nix.gc ${show cfg.nix.gc}")
      (case "base: time zone UTC" (cfg.time.timeZone == "UTC") "time.timeZone ${show cfg.time.timeZone}")
      (case "base: sshd on, keys only, root without password, not public" (
        ssh.enable
        && !ssh.openFirewall
        && !ssh.settings.PasswordAuthentication
        && !ssh.settings.KbdInteractiveAuthentication
        && ssh.settings.PermitRootLogin == "prohibit-password"
      ) "enable ${show ssh.enable}, openFirewall ${show ssh.openFirewall}, settings ${show { inherit (ssh.settings) PasswordAuthentication KbdInteractiveAuthentication PermitRootLogin; }}")
      (case "base: journal size capped" (
        hasInfix "SystemMaxUse=" journal && hasInfix "SystemKeepFree=" journal
      ) "services.journald.extraConfig ${show journal}")
      (case "base: users immutable, root reachable by key only, group sov" (
        !cfg.users.mutableUsers
        && cfg.users.users.root.openssh.authorizedKeys.keys != [ ]
        && cfg.users.groups ? sov
      ) "mutableUsers ${show cfg.users.mutableUsers}, root keys ${show cfg.users.users.root.openssh.authorizedKeys.keys}, groups ${show (builtins.attrNames cfg.users.groups)}")
      (case "base: the sov package is installed" (lib.elem "sov" packages)
        "environment.systemPackages has ${show packages}"
      )
      (case "vm node: hardware config left out, host choices kept" (
        !(vm.fileSystems ? "/") && vm.networking.hostName == name && vmFw == fw
      ) "vm fileSystems ${show (builtins.attrNames vm.fileSystems)}, hostName ${show vm.networking.hostName}, firewall ${show vmFw} (host: ${show fw})")
    ];

  # The shared hardening, from the option tool modules read.
  hardening = hosts.heart.config.sov.lib.hardening;
  hardeningCases = mapAttrsToList (
    key: want:
    case "hardening sets ${key} = ${show want}" (hardening ? ${key} && hardening.${key} == want) (
      if hardening ? ${key} then "got ${show hardening.${key}}" else "missing from nixos-modules/hardening.nix"
    )
  ) requiredHardening;

  readOnly = builtins.tryEval (
    let
      v = (extend "heart" [ { sov.lib.hardening = { }; } ]).sov.lib.hardening;
    in
    builtins.deepSeq v v
  );

  relaxed = (extend "heart" [ ./relaxed-service.nix ]).systemd.services.sov-test-relaxed.serviceConfig;
  keptRest = removeAttrs requiredHardening [ "PrivateUsers" ];
  changed = filter (k: !(relaxed ? ${k}) || relaxed.${k} != keptRest.${k}) (builtins.attrNames keptRest);

  brainTcp = extend "brain" [ { networking.firewall.allowedTCPPorts = [ 8080 ]; } ];
  heartSsh = extend "heart" [ { services.openssh.openFirewall = true; } ];
  gatewayNoFw = extend "gateway" [ { networking.firewall.enable = false; } ];
  noKeys = extend "heart" [ { sov.base.authorizedKeys = lib.mkForce [ ]; } ];
  placeholder = extend "heart" [
    { sov.base.authorizedKeys = lib.mkForce [ "ssh-ed25519 AAAA REPLACE-ME-operator-key" ]; }
  ];
  realKey = extend "heart" [ { sov.base.authorizedKeys = lib.mkForce [ someKey ]; } ];
  otherPort = extend "heart" [ { sov.mesh.port = 51821; } ];
  baseOff = extend "heart" [ { sov.base.enable = false; } ];
  sovWarnings = cfg: filter (hasInfix "sov:") cfg.warnings;
  sovFailed = cfg: filter (hasInfix "sov:") (failedAssertions cfg);

  # services.sov.backup (nixos-modules/backup.nix), evaluated on heart.
  repo = "/var/lib/backup-repo";
  passwordFile = "/run/keys/sov-backup-password";
  job = {
    paths = [
      "/srv/files"
      "/srv/shared docs"
    ];
    exclude = [
      "*.tmp"
      "*.100%"
    ];
    sqlite = [ "/var/lib/app/app.db" ];
    postgresql.databases = [ "shop" ];
    repository = repo;
    inherit passwordFile;
    tags = [ "nightly" ];
  };
  pgOn = {
    services.postgresql.enable = true;
  };
  withJobs = jobs: modules: extend "heart" ([ { services.sov.backup.jobs = jobs; } ] ++ modules);
  bk = withJobs { nightly = job; } [ pgOn ];
  bkUnit = bk.systemd.services.sov-backup-nightly;
  bkSc = bkUnit.serviceConfig;
  bkExec = lib.toList bkSc.ExecStart;
  bkLine = lib.head bkExec;
  bkCheck = bk.systemd.services.sov-backup-nightly-check;
  bkCheckExec = lib.toList bkCheck.serviceConfig.ExecStart;
  bkTimer = bk.systemd.timers.sov-backup-nightly;
  bkCheckTimer = bk.systemd.timers.sov-backup-nightly-check;
  bkBin = "${bk.services.sov.backup.package}/bin/sov-backup";
  bkGrant = bk.systemd.services.sov-backup-pg-grant or { };
  bkWant = [
    "${bkBin} backup --repo ${repo} --host heart "
    "--tag nightly"
    "--exclude *.tmp"
    # % doubled: systemd would read %1 as a specifier.
    "--exclude *.100%%"
    "--sqlite /var/lib/app/app.db"
    "--postgres postgresql:///shop?host=/run/postgresql&port=5432"
  ];
  # ... and the paths last, the one with a blank quoted.
  bkTail = ''/srv/files "/srv/shared docs"'';

  kept =
    relaxedKeys: sc:
    filter (k: !(sc ? ${k}) || sc.${k} != requiredHardening.${k}) (
      lib.subtractLists relaxedKeys (builtins.attrNames requiredHardening)
    );
  bkRelaxed = [
    "DynamicUser"
    "PrivateUsers"
    "ProtectHome"
    "CapabilityBoundingSet"
    "AmbientCapabilities"
  ];
  capability = [ "CAP_DAC_READ_SEARCH" ];

  retained = withJobs {
    nightly = job // {
      retention = {
        daily = 7;
        weekly = 4;
        within = "2d";
      };
    };
  } [ pgOn ];
  retainedExec = lib.toList retained.systemd.services.sov-backup-nightly.serviceConfig.ExecStart;

  noCheckTimer = withJobs {
    nightly = job // {
      check.timerConfig = null;
      check.readDataSubset = null;
    };
  } [ pgOn ];

  filesOnly = withJobs {
    docs = {
      paths = [
        "/srv/files"
        "/var/lib"
      ];
      repository = repo;
      inherit passwordFile;
      metrics = "sqlite:/var/lib/sov/measurements.sqlite";
    };
  } [ ];
  docsUnit = filesOnly.systemd.services.sov-backup-docs;

  initialized = withJobs { nightly = job // { initialize = true; }; } [ pgOn ];
  initUnit = initialized.systemd.services.sov-backup-nightly-init or { };

  # Every command line, environment value and Environment= of a config's
  # sov-backup units: where a password must never be.
  exposed =
    cfg:
    lib.concatLists (
      mapAttrsToList (
        n: u:
        lib.optionals (lib.hasPrefix "sov-backup" n) (
          lib.toList (u.serviceConfig.ExecStart or [ ])
          ++ map toString (lib.toList (u.serviceConfig.ExecStartPre or [ ]))
          ++ map toString (builtins.attrValues u.environment)
          ++ map toString (lib.toList (u.serviceConfig.Environment or [ ]))
          ++ map toString (lib.toList (u.serviceConfig.EnvironmentFile or [ ]))
        )
      ) cfg.systemd.services
    );
  leaks = filter (v: hasInfix passwordFile v || hasInfix "password" v) (exposed initialized);

  badJob = name: attrs: withJobs { ${name} = job // attrs; } [ pgOn ];
  emptyJob = withJobs {
    empty = {
      repository = repo;
      inherit passwordFile;
    };
  } [ ];
  relativeRepo = badJob "rel" { repository = "backups/repo"; };
  storePassword = badJob "store" {
    passwordFile = "/nix/store/00000000000000000000000000000000-password";
  };
  noPostgres = withJobs { db = job; } [ ];
  metricsPassword = badJob "metrics" { metrics = "postgresql://sov:hunter2@db.example/metrics"; };

  # services.sov.wf (nixos-modules/wf.nix), evaluated on heart.
  wfCases = import ./cases-wf.nix {
    inherit
      lib
      case
      show
      extend
      failedAssertions
      someFailedMentions
      kept
      ;
  };

  # services.sov.probe (nixos-modules/probe.nix) and the host profile's
  # default targets (nixos-modules/profiles/probe.nix).
  probeCases = import ./cases-probe.nix {
    inherit
      lib
      hosts
      case
      show
      extend
      failedAssertions
      someFailedMentions
      kept
      ;
  };

  # services.sov.cert (nixos-modules/cert.nix), on the gateway.
  certCases = import ./cases-cert.nix {
    inherit
      lib
      hosts
      case
      show
      extend
      failedAssertions
      someFailedMentions
      kept
      ;
  };

  moduleCases = hardeningCases ++ [
    (case "sov.lib.hardening is read-only: a host cannot redefine it" (!readOnly.success)
      "defining sov.lib.hardening in a host was accepted"
    )
    (case "a service merging the hardening relaxes PrivateUsers and keeps the rest" (
      relaxed.PrivateUsers == false && changed == [ ] && relaxed ? ExecStart
    ) "PrivateUsers ${show relaxed.PrivateUsers}, settings lost or changed: ${show changed}")
    (case "brain opening TCP 8080 fails the public-port assertion, naming it" (
      someFailedMentions brainTcp [
        "brain"
        "TCP 8080"
      ]
    ) "failing: ${show (failedAssertions brainTcp)}")
    (case "heart opening ssh publicly fails the public-port assertion" (
      someFailedMentions heartSsh [
        "heart"
        "TCP 22"
      ]
    ) "failing: ${show (failedAssertions heartSsh)}")
    (case "gateway with the firewall off fails an assertion" (
      someFailedMentions gatewayNoFw [
        "gateway"
        "firewall.enable = false"
      ]
    ) "failing: ${show (failedAssertions gatewayNoFw)}")
    (case "immutable users and no authorized key fail an assertion" (
      someFailedMentions noKeys [ "sov.base.authorizedKeys" ]
    ) "failing: ${show (failedAssertions noKeys)}")
    (case "the placeholder key warns, a real key does not" (
      any (hasInfix "placeholder") (sovWarnings placeholder) && sovWarnings realKey == [ ]
    ) "placeholder: ${show (sovWarnings placeholder)}; real key: ${show (sovWarnings realKey)}")
    (case "sov.mesh.port moves the opened UDP port" (
      sortPorts otherPort.networking.firewall.allowedUDPPorts == [ 51821 ]
      && failedAssertions otherPort == [ ]
    ) "udp ${show otherPort.networking.firewall.allowedUDPPorts}, failing: ${show (failedAssertions otherPort)}")
    (case "sov.base.enable = false leaves the base profile out" (
      baseOff.time.timeZone == null && !baseOff.services.openssh.enable
    ) "time.timeZone ${show baseOff.time.timeZone}, openssh.enable ${show baseOff.services.openssh.enable}")

    (case "backup: no jobs, no sov-backup user, units or PostgreSQL role" (
      !(hosts.heart.config.users.users ? sov-backup)
      && !(any (lib.hasPrefix "sov-backup") (builtins.attrNames hosts.heart.config.systemd.services))
    ) "users ${show (builtins.attrNames hosts.heart.config.users.users)}")
    (case "backup: a valid job fails no sov assertion" (sovFailed bk == [ ] && sovFailed filesOnly == [ ])
      "failing: ${show (sovFailed bk ++ sovFailed filesOnly)}"
    )
    (case "backup: ExecStart is sov-backup backup with repository, host, tags, excludes, SQLite, databases, paths" (
      all (w: hasInfix w bkLine) bkWant && lib.hasPrefix bkBin bkLine && lib.hasSuffix bkTail bkLine
    ) "ExecStart ${show bkSc.ExecStart}, wanted ${show bkWant} and the tail ${show bkTail}")
    (case "backup: no retention, no forget" (lib.length bkExec == 1) "ExecStart ${show bkExec}")
    (case "backup: retention runs forget --prune with the keep flags after the backup" (
      lib.length retainedExec == 2
      && hasInfix "backup --repo" (lib.head retainedExec)
      && all (w: hasInfix w (lib.last retainedExec)) [
        "${bkBin} forget --repo ${repo} --host heart --prune"
        "--keep-daily 7"
        "--keep-weekly 4"
        "--keep-within 2d"
      ]
      && !(hasInfix "--keep-last" (lib.last retainedExec))
    ) "ExecStart ${show retainedExec}")
    (case "backup: the password only by LoadCredential, never in argv or the environment" (
      bkSc.LoadCredential == [ "password:${passwordFile}" ]
      && initUnit.serviceConfig.LoadCredential or null == [ "password:${passwordFile}" ]
      && bkCheck.serviceConfig.LoadCredential == [ "password:${passwordFile}" ]
      && leaks == [ ]
      && exposed initialized != [ ]
    ) "LoadCredential ${show bkSc.LoadCredential}; found the password in ${show leaks}")
    (case "backup: the timer is daily, Persistent, randomized, wanted by timers.target" (
      bkTimer.timerConfig == {
        OnCalendar = "daily";
        Persistent = true;
        RandomizedDelaySec = "1h";
      }
      && lib.elem "timers.target" bkTimer.wantedBy
    ) "timer ${show { inherit (bkTimer) timerConfig wantedBy; }}")
    (case "backup: the check reads a 5% subset, weekly and Persistent" (
      bkCheckExec == [ "${bkBin} check --repo ${repo} --read-data-subset 5%%" ]
      && bkCheckTimer.timerConfig.OnCalendar == "weekly"
      && bkCheckTimer.timerConfig.Persistent
      && lib.elem "timers.target" bkCheckTimer.wantedBy
    ) "ExecStart ${show bkCheckExec}, timer ${show bkCheckTimer.timerConfig}")
    (case "backup: check.timerConfig = null drops the check timer; readDataSubset = null checks the structure" (
      !(noCheckTimer.systemd.timers ? sov-backup-nightly-check)
      && noCheckTimer.systemd.services.sov-backup-nightly-check.serviceConfig.ExecStart == "${bkBin} check --repo ${repo}"
    ) "timers ${show (builtins.attrNames noCheckTimer.systemd.timers)}")
    (case "backup: the backup unit keeps the shared hardening but the user, PrivateUsers, ProtectHome and the capability" (
      kept bkRelaxed bkSc == [ ] && bkSc.ProtectSystem == "strict" && bkSc.ProtectHome == "read-only"
    ) "settings lost or changed: ${show (kept bkRelaxed bkSc)}")
    (case "backup: the check and init units keep the shared hardening but the user and ProtectHome" (
      kept [ "DynamicUser" "ProtectHome" ] bkCheck.serviceConfig == [ ]
      && kept [ "DynamicUser" "ProtectHome" ] (initUnit.serviceConfig or { }) == [ ]
    ) "check: ${show (kept [ "DynamicUser" "ProtectHome" ] bkCheck.serviceConfig)}, init: ${show (kept [ "DynamicUser" "ProtectHome" ] (initUnit.serviceConfig or { }))}")
    (case "backup: runs as the system user sov-backup with CAP_DAC_READ_SEARCH alone" (
      bkSc.User == "sov-backup"
      && bkSc.Group == "sov-backup"
      && !bkSc.DynamicUser
      && !bkSc.PrivateUsers
      && bkSc.CapabilityBoundingSet == capability
      && bkSc.AmbientCapabilities == capability
      && bk.users.users.sov-backup.isSystemUser
      && bk.users.users.sov-backup.group == "sov-backup"
      && bk.users.groups ? sov-backup
    ) "${show { inherit (bkSc) User Group DynamicUser PrivateUsers CapabilityBoundingSet AmbientCapabilities; }}")
    (case "backup: writes only its repository, state and cache directories; the repository exists, owned by sov-backup" (
      bkSc.ReadWritePaths == [ repo ]
      && bkSc.StateDirectory == "sov-backup/nightly"
      && bkSc.CacheDirectory == "sov-backup/nightly"
      && bkSc.CacheDirectoryMode == "0700"
      && lib.elem "d ${repo} 0700 sov-backup sov-backup - -" bk.systemd.tmpfiles.rules
      && lib.elem repo (lib.toList bkUnit.unitConfig.RequiresMountsFor)
    ) "ReadWritePaths ${show bkSc.ReadWritePaths}, StateDirectory ${show bkSc.StateDirectory}, CacheDirectory ${show bkSc.CacheDirectory or null}, tmpfiles ${show bk.systemd.tmpfiles.rules}")
    (case "backup: PostgreSQL role sov-backup, granted pg_read_all_data as postgres before the backup" (
      lib.elem "sov-backup" (map (u: u.name) bk.services.postgresql.ensureUsers)
      && bkGrant.serviceConfig.User or null == "postgres"
      && hasInfix ''-h /run/postgresql'' (bkGrant.serviceConfig.ExecStart or "")
      && hasInfix ''-c "GRANT pg_read_all_data TO \"sov-backup\""'' (bkGrant.serviceConfig.ExecStart or "")
      && lib.elem "postgresql.service" (bkGrant.after or [ ])
      && all (u: lib.elem u bkUnit.after) [
        "postgresql.service"
        "sov-backup-pg-grant.service"
      ]
      && lib.elem "sov-backup-pg-grant.service" bkUnit.requires
      && lib.hasSuffix "/bin" (bkUnit.environment.SOV_PG_BINDIR or "")
    ) "grant ${show (bkGrant.serviceConfig or null)}, backup after ${show bkUnit.after}, requires ${show bkUnit.requires}")
    (case "backup: a repository inside the backed-up paths is excluded, one outside is not" (
      hasInfix "--exclude ${repo} " (lib.head (lib.toList docsUnit.serviceConfig.ExecStart))
      && !(hasInfix "--exclude ${repo}" bkLine)
    ) "docs: ${show docsUnit.serviceConfig.ExecStart}; nightly: ${show bkLine}")
    (case "backup: a job without databases leaves PostgreSQL alone" (
      !(filesOnly.systemd.services ? sov-backup-pg-grant)
      && !(lib.elem "sov-backup" (map (u: u.name) filesOnly.services.postgresql.ensureUsers))
      && !(lib.elem "postgresql.service" docsUnit.after)
    ) "services ${show (builtins.attrNames filesOnly.systemd.services)}")
    (case "backup: metrics sets SOV_METRICS, opens the SQLite store's directory, joins the group sov" (
      docsUnit.environment.SOV_METRICS or null == "sqlite:/var/lib/sov/measurements.sqlite"
      && docsUnit.serviceConfig.ReadWritePaths == [
        repo
        "-/var/lib/sov"
      ]
      && docsUnit.serviceConfig.SupplementaryGroups or null == [ "sov" ]
      && !(bkUnit.environment ? SOV_METRICS)
      && !(bkSc ? SupplementaryGroups)
    ) "environment ${show docsUnit.environment}, ReadWritePaths ${show docsUnit.serviceConfig.ReadWritePaths}, SupplementaryGroups ${show (docsUnit.serviceConfig.SupplementaryGroups or null)}")
    (case "backup: initialize adds an init unit, skipped once the repository has a config" (
      initUnit.unitConfig.ConditionPathExists or null == "!${repo}/config"
      && initUnit.serviceConfig.ExecStart or null == "${bkBin} init --repo ${repo}"
      && lib.elem "sov-backup-nightly-init.service" initialized.systemd.services.sov-backup-nightly.requires
      && lib.elem "sov-backup-nightly-init.service" initialized.systemd.services.sov-backup-nightly.after
      && !(bk.systemd.services ? sov-backup-nightly-init)
    ) "init ${show initUnit}")
    (case "backup: a job with nothing to back up fails an assertion" (
      someFailedMentions emptyJob [
        "services.sov.backup.jobs.empty"
        "nothing to back up"
      ]
    ) "failing: ${show (failedAssertions emptyJob)}")
    (case "backup: a relative repository fails an assertion" (
      someFailedMentions relativeRepo [
        "jobs.rel.repository"
        "absolute path"
        "backups/repo"
      ]
    ) "failing: ${show (failedAssertions relativeRepo)}")
    (case "backup: a passwordFile in the Nix store fails an assertion saying why" (
      someFailedMentions storePassword [
        "jobs.store.passwordFile"
        "Nix store"
        "not be secret"
      ]
    ) "failing: ${show (failedAssertions storePassword)}")
    (case "backup: databases without services.postgresql fail an assertion" (
      someFailedMentions noPostgres [
        "jobs.db.postgresql.databases"
        "services.postgresql.enable is false"
      ]
    ) "failing: ${show (failedAssertions noPostgres)}")
    (case "backup: a password in the metrics URL fails an assertion" (
      someFailedMentions metricsPassword [
        "jobs.metrics.metrics"
        "password"
      ]
    ) "failing: ${show (failedAssertions metricsPassword)}")
  ]
  ++ wfCases
  ++ probeCases.moduleCases
  ++ certCases;
in
map (name: {
  group = name;
  cases = hostCases name ++ probeCases.hostCases name;
}) hostNames
++ [
  {
    group = "modules";
    cases = moduleCases;
  }
]
