# The evaluation cases of services.sov.probe (nixos-modules/probe.nix) and
# the host profile's default targets (nixos-modules/profiles/probe.nix).
# `hostCases NAME` joins the group of each host (run against the real
# nixosConfigurations by the flake's eval checks, too); `moduleCases` the
# group "modules". tests/nix/cases.nix passes its helpers in. Expected
# values are written out here, never read from the modules under test.
{
  lib,
  hosts,
  case,
  show,
  extend,
  failedAssertions,
  someFailedMentions,
  kept,
}:
let
  inherit (lib) all hasInfix;

  unitOf = cfg: cfg.systemd.services.sov-probe or { };
  scOf = cfg: (unitOf cfg).serviceConfig or { };
  execOf = cfg: (scOf cfg).ExecStart or "";
  # The targets file as written (the document `sov-probe validate` checks).
  docOf = cfg: builtins.fromJSON cfg.services.sov.probe.targetsFile.targets.text;
  targetsOf = cfg: (docOf cfg).targets;
  sovFailed = cfg: lib.filter (hasInfix "sov:") (failedAssertions cfg);
  pathNames = cfg: map (p: p.pname or p.name or "?") (unitOf cfg).path;
  capsOf = cfg: {
    inherit ((scOf cfg)) CapabilityBoundingSet AmbientCapabilities PrivateUsers;
  };
  noCaps = {
    CapabilityBoundingSet = "";
    AmbientCapabilities = "";
    PrivateUsers = true;
  };
  pingRange = cfg: cfg.boot.kernel.sysctl."net.ipv4.ping_group_range" or null;

  # The probe on heart with only the targets given (the profile's off).
  probeOf =
    settings:
    extend "heart" [
      {
        sov.probe.hostTargets.enable = false;
        services.sov.probe = {
          enable = true;
        }
        // settings;
      }
    ];
  probeWith =
    modules:
    extend "heart" (
      [
        {
          sov.probe.hostTargets.enable = false;
          services.sov.probe.enable = true;
        }
      ]
      ++ modules
    );

  web = {
    type = "http";
    url = "https://shop.example.com/health";
    status = [ 200 ];
    contains = "ok";
    cert_days = 14;
    alerts = [ "ops" ];
  };
  orders = {
    type = "postgres";
    url_file = "%d/orders-db";
    query = "SELECT count(*) AS n FROM orders WHERE paid IS NULL";
    jq = ".[0].n < 50";
  };
  report = {
    type = "command";
    argv = [
      "report-check"
      "--token-file"
      "%d/api-token"
      "100%"
    ];
    jq = ".ok";
  };
  ops = {
    command = [
      "notify-ops"
      "--key"
      "%d/api-token"
    ];
  };
  creds = {
    orders-db = "/run/secrets/orders-db-url";
    api-token = "/run/secrets/api-token";
  };
  credDir = "/run/credentials/sov-probe.service";

  # Every option that shows in the file or on the command line.
  full = probeOf {
    targets = {
      inherit web orders report;
    };
    defaults = {
      interval = "1m";
      failures = 3;
    };
    alerts.ops = ops;
    credentials = creds;
    metrics = "sqlite:/var/lib/sov/measurements.sqlite";
    concurrency = 16;
    page = {
      enable = true;
      every = "2m";
      address = "10.77.0.1";
    };
    extraArgs = [ "--label=100%" ];
  };
  fullBin = "${full.services.sov.probe.package}/bin/sov-probe";
  fullWant = {
    defaults = {
      interval = "1m";
      failures = 3;
    };
    alerts.ops.command = [
      "notify-ops"
      "--key"
      "${credDir}/api-token"
    ];
    targets = {
      inherit web;
      orders = orders // {
        url_file = "${credDir}/orders-db";
      };
      report = report // {
        argv = [
          "report-check"
          "--token-file"
          "${credDir}/api-token"
          "100%"
        ];
      };
    };
  };
  fullExec = lib.concatStringsSep " " [
    "${fullBin} daemon --targets /etc/sov-probe/targets.json"
    "--metrics sqlite:/var/lib/sov/measurements.sqlite --concurrency 16"
    "--page /var/lib/sov-probe/page --page-every 2m"
    "--rollup-after 7d --keep 400d --label=100%%"
  ];
  fullSc = scOf full;
  fullUnit = unitOf full;
  fullFile = full.services.sov.probe.targetsFile;
  buildTools = map (p: p.pname or p.name or "?") (fullFile.nativeBuildInputs or [ ]);

  plain = probeOf { targets.disk-home = { type = "disk"; path = "/"; }; };
  plainSc = scOf plain;
  plainUnit = unitOf plain;
  disk = {
    type = "disk";
    path = "/";
  };

  # Where a secret must never be: argv, the environment.
  exposed =
    cfg:
    [ (execOf cfg) ]
    ++ map toString (lib.attrValues (unitOf cfg).environment)
    ++ map toString (lib.toList ((scOf cfg).Environment or [ ]));
  leaks = lib.filter (hasInfix "/run/secrets") (exposed full);
  pgpass = probeOf {
    targets.d = disk;
    postgresql.passFile = "/run/secrets/probe-pgpass";
    metrics = "postgresql://probe@db.example/sov";
  };

  # One target of each type that needs something, alone.
  only = t: probeOf { targets.t = t; };
  wg = only {
    type = "wireguard";
    interface = "wg-sov";
  };
  bk = only {
    type = "backup";
    argv = [
      "sov-backup"
      "snapshots"
    ];
    max_age = "26h";
  };
  icmp = only {
    type = "icmp";
    host = "10.77.0.2";
  };
  sd = only {
    type = "systemd";
    unit = "nginx.service";
  };
  localPg = probeWith [
    { services.postgresql.enable = true; }
    {
      services.sov.probe.targets.db = {
        type = "postgres";
        url = "postgresql:///postgres?host=/run/postgresql";
      };
    }
  ];
  remotePg = probeWith [
    { services.postgresql.enable = true; }
    {
      services.sov.probe.targets.db = {
        type = "postgres";
        url = "postgresql://db.example/shop";
      };
    }
  ];
  pgUsers = cfg: map (u: u.name) cfg.services.postgresql.ensureUsers;

  # The page.
  paged = probeOf {
    targets.d = disk;
    page = {
      enable = true;
      address = "10.77.0.1";
    };
  };
  pagedV6 = probeOf {
    targets.d = disk;
    page = {
      enable = true;
      address = "fd00:77::1";
      port = 9000;
      interface = "wg1";
    };
  };
  pageFiles = probeOf {
    targets.d = disk;
    page = {
      enable = true;
      serve = false;
    };
  };
  vhostOf = cfg: cfg.services.nginx.virtualHosts.sov-probe-page or { };
  fwOf = cfg: port: {
    public = lib.elem port cfg.networking.firewall.allowedTCPPorts;
    interfaces = lib.attrNames (
      lib.filterAttrs (n: i: n != "default" && lib.elem port i.allowedTCPPorts) cfg.networking.firewall.interfaces
    );
  };

  # Assertions.
  noNginx = probeWith [
    {
      services.sov.probe = {
        targets.d = disk;
        page = {
          enable = true;
          address = "10.77.0.1";
        };
      };
      services.nginx.enable = false;
    }
  ];
  noAddress = probeOf {
    targets.d = disk;
    page.enable = true;
  };
  anyAddress = probeOf {
    targets.d = disk;
    page = {
      enable = true;
      address = "0.0.0.0";
    };
  };
  outsideDir = probeOf {
    targets.d = disk;
    page = {
      enable = true;
      serve = false;
      dir = "/srv/www";
    };
  };
  undefinedAlert = probeOf { targets.web = web; };
  unknownType = probeOf { targets.x = { type = "smtp"; }; };
  badName = probeOf { targets."Web Site" = disk; };
  missingCred = probeOf { targets.orders = orders; };
  pgPassword = probeOf {
    targets.db = {
      type = "postgres";
      url = "postgresql://probe:hunter2@db.example/shop";
    };
  };
  storeCred = probeOf {
    targets.orders = orders;
    credentials.orders-db = "/nix/store/00000000000000000000000000000000-url";
  };
  metricsPassword = probeOf {
    targets.d = disk;
    metrics = "postgresql://probe:hunter2@db.example/sov";
  };
  noTargets = probeOf { };

  # Alerts that enqueue a workflow: the queue of this host's worker.
  enqueueing = {
    targets.web = web;
    alerts.ops.enqueue = "oncall";
  };
  enqueueAlone = probeOf enqueueing;
  enqueueWf = probeWith [
    { services.sov.probe = enqueueing; }
    {
      services.sov.wf = {
        enable = true;
        workflows.oncall = {
          name = "oncall";
          version = 1;
          triggers = [ { enqueue = true; } ];
          steps.page.run = [ "page-oncall" ];
        };
      };
    }
  ];
  probeWarnings = cfg: lib.filter (hasInfix "services.sov.probe") cfg.warnings;

  # The host profile.
  keys = {
    heart = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    brain = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
    gateway = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
  };
  mesh = {
    sov.mesh.peers = lib.mapAttrs (_: k: { publicKey = k; }) keys;
  };
  diskRoot = {
    type = "disk";
    path = "/";
    min_free_percent = 10;
    min_inodes_percent = 5;
    interval = "1m";
  };
  wgTarget = peer: {
    type = "wireguard";
    interface = "wg-sov";
    peers = [ keys.${peer} ];
    max_age = "5m";
    interval = "1m";
    tags.peer = peer;
  };
  heartMesh = extend "heart" [ mesh ];
  brainMesh = extend "brain" [ mesh ];
  heartPg = extend "heart" [ { services.postgresql.enable = true; } ];
  heartVar = extend "heart" [
    {
      fileSystems."/var" = {
        device = "/dev/disk/by-label/var";
        fsType = "ext4";
      };
    }
  ];
  gatewayTls = extend "gateway" [
    {
      services.nginx = {
        enable = true;
        virtualHosts = {
          "shop.example.com" = {
            forceSSL = true;
            serverAliases = [ "www.shop.example.com" ];
          };
          api = {
            serverName = "api.example.com";
            onlySSL = true;
          };
          # Plain HTTP: no certificate to watch.
          "status.example.com".locations."/".proxyPass = "http://10.77.0.1:8471";
        };
      };
    }
  ];
  tlsTarget = name: {
    type = "tls";
    host = name;
    port = 443;
    server_name = name;
    cert_days = 14;
    interval = "1h";
  };
  backupRepo = "/var/lib/backup-repo";
  backupPassword = "/run/keys/sov-backup-password";
  heartBackup = extend "heart" [
    {
      services.sov.backup.jobs.nightly = {
        paths = [ "/srv/files" ];
        repository = backupRepo;
        passwordFile = backupPassword;
        tags = [ "nightly" ];
      };
    }
  ];
  backupBin = "${heartBackup.services.sov.backup.package}/bin/sov-backup";
  backupWant = {
    type = "backup";
    argv = [
      backupBin
      "snapshots"
      "--repo"
      backupRepo
      "--password-file"
      "${credDir}/backup-nightly"
      "--host"
      "heart"
      "--latest"
      "1"
      "--tag"
      "nightly"
    ];
    jq = ''select(.event == "snapshot") | .ts = .time'';
    max_age = "26h";
    interval = "15m";
    timeout = "2m";
  };
  profileOff = extend "heart" [ { sov.probe.hostTargets.enable = false; } ];
  tuned = extend "heart" [
    mesh
    {
      services.sov.probe.targets.disk-root.min_free_percent = 5;
      services.sov.probe.targets.mesh-brain.enable = false;
    }
  ];
  replaced = extend "heart" [
    {
      services.sov.probe.targets.disk-root = lib.mkForce {
        type = "disk";
        path = "/srv";
      };
    }
  ];
  alerted = extend "heart" [
    {
      sov.probe.hostTargets.alerts = [ "ops" ];
      services.sov.probe.alerts.ops.command = [ "notify-ops" ];
    }
  ];
  roleless = extend "heart" [ { sov.host.role = lib.mkForce null; } ];
in
{
  hostCases = name: [
    (case "probe: sov-probe runs with the disk of / among its default targets" (
      hosts.${name}.config.services.sov.probe.enable
      && (targetsOf hosts.${name}.config).disk-root or null == diskRoot
      && (unitOf hosts.${name}.config) ? serviceConfig
    ) "targets ${show (targetsOf hosts.${name}.config)}")
    (case "probe: the mesh peers but ${name} itself are watched (sov.mesh.peers)" (
      let
        c = extend name [ mesh ];
        t = targetsOf c;
        others = lib.filter (p: p != name) (lib.attrNames keys);
      in
      all (p: t."mesh-${p}" or null == wgTarget p) others && !(t ? "mesh-${name}")
    ) "targets ${show (lib.attrNames (targetsOf (extend name [ mesh ])))}")
  ];

  moduleCases = [
    (case "probe: off (profile off, not enabled): no sov-probe user, unit, or /etc file" (
      !(profileOff.users.users ? sov-probe)
      && !(profileOff.systemd.services ? sov-probe)
      && !(profileOff.environment.variables ? SOV_PROBE_TARGETS)
      && !(profileOff.environment.etc ? "sov-probe/targets.json")
      && !roleless.services.sov.probe.enable
    ) "the module did something while off")
    (case "probe: valid configurations fail no sov assertion" (
      all (c: sovFailed c == [ ]) [
        full
        plain
        pgpass
        wg
        bk
        icmp
        sd
        localPg
        remotePg
        paged
        pagedV6
        pageFiles
        heartMesh
        heartPg
        heartBackup
        gatewayTls
        tuned
        alerted
      ]
    ) "failing: ${show (map sovFailed [ full plain paged heartBackup gatewayTls alerted ])}")
    (case "probe: the file has the defaults, the alerts and the targets, %d/NAME as the credentials directory" (
      docOf full == fullWant
    ) "got ${show (docOf full)}")
    (case "probe: ExecStart is sov-probe daemon with the /etc targets and every option, quoted for systemd" (
      execOf full == fullExec
    ) "ExecStart ${show (execOf full)}, wanted ${show fullExec}")
    (case "probe: defaults: no store, so no --metrics and no rollup flags" (
      execOf plain == "${fullBin} daemon --targets /etc/sov-probe/targets.json"
    ) "ExecStart ${show (execOf plain)}")
    (case "probe: the file is built with sov-probe validate and linked at /etc/sov-probe/targets.json" (
      hasInfix ''sov-probe validate "$targets"'' (fullFile.buildCommand or "")
      && lib.elem "sov" buildTools
      && full.environment.etc."sov-probe/targets.json".source.outPath == fullFile.outPath
      && full.environment.variables.SOV_PROBE_TARGETS or null == "/etc/sov-probe/targets.json"
    ) "buildCommand ${show (fullFile.buildCommand or null)}, tools ${show buildTools}")
    (case "probe: a new targets file reloads (SIGHUP) instead of restarting" (
      builtins.match "/nix/store/[^ ]*coreutils[^ ]*/bin/kill -HUP [$]MAINPID" fullSc.ExecReload != null
      && map (d: d.outPath) fullUnit.reloadTriggers == [ fullFile.outPath ]
    ) "ExecReload ${show fullSc.ExecReload}, reloadTriggers ${show (map (d: d.outPath) fullUnit.reloadTriggers)}")
    (case "probe: credentials by LoadCredential only, never in argv or the environment" (
      lib.sort lib.lessThan fullSc.LoadCredential == [
        "api-token:/run/secrets/api-token"
        "orders-db:/run/secrets/orders-db-url"
      ]
      && leaks == [ ]
      && plainSc.LoadCredential == [ ]
      && (scOf pgpass).LoadCredential == [ "pgpass:/run/secrets/probe-pgpass" ]
      && (unitOf pgpass).environment.PGPASSFILE or null == "%d/pgpass"
      && !(plainUnit.environment ? PGPASSFILE)
    ) "LoadCredential ${show fullSc.LoadCredential}, leaks ${show leaks}")
    (case "probe: the unit keeps the shared hardening but DynamicUser, runs as sov-probe in /var/lib/sov-probe" (
      kept [ "DynamicUser" ] plainSc == [ ]
      && plainSc.DynamicUser == false
      && plainSc.User == "sov-probe"
      && plainSc.Group == "sov-probe"
      && plainSc.StateDirectory == "sov-probe"
      && plainSc.StateDirectoryMode == "0700"
      && plainUnit.environment.SOV_STATE_DIR or null == "/var/lib/sov-probe"
      && plain.users.users.sov-probe.isSystemUser
      && plain.users.groups ? sov-probe
      && lib.elem "multi-user.target" plainUnit.wantedBy
      && plainSc.Restart == "always"
      && plainSc.RestartPreventExitStatus == [ "2" ]
    ) "settings lost or changed: ${show (kept [ "DynamicUser" ] plainSc)}")
    (case "probe: no capability, private users, no ping sysctl without targets that need them" (
      all (c: capsOf c == noCaps && pingRange c == null) [
        plain
        full
        sd
        localPg
      ]
      && plainSc.RestrictAddressFamilies == [
        "AF_UNIX"
        "AF_INET"
        "AF_INET6"
      ]
    ) "${show (map capsOf [ plain full sd localPg ])}")
    (case "probe: a wireguard target gets CAP_NET_ADMIN alone, netlink and wg; the rest of the hardening stays" (
      capsOf wg == {
        CapabilityBoundingSet = [ "CAP_NET_ADMIN" ];
        AmbientCapabilities = [ "CAP_NET_ADMIN" ];
        PrivateUsers = false;
      }
      && (scOf wg).RestrictAddressFamilies == [
        "AF_UNIX"
        "AF_INET"
        "AF_INET6"
        "AF_NETLINK"
      ]
      && lib.elem "wireguard-tools" (pathNames wg)
      && !(lib.elem "wireguard-tools" (pathNames plain))
      && kept [
        "DynamicUser"
        "CapabilityBoundingSet"
        "AmbientCapabilities"
        "PrivateUsers"
        "RestrictAddressFamilies"
      ] (scOf wg) == [ ]
    ) "${show (capsOf wg)}, families ${show (scOf wg).RestrictAddressFamilies}, path ${show (pathNames wg)}")
    (case "probe: a backup target gets CAP_DAC_READ_SEARCH alone" (
      capsOf bk == {
        CapabilityBoundingSet = [ "CAP_DAC_READ_SEARCH" ];
        AmbientCapabilities = [ "CAP_DAC_READ_SEARCH" ];
        PrivateUsers = false;
      }
      && !(lib.elem "AF_NETLINK" (scOf bk).RestrictAddressFamilies)
    ) "${show (capsOf bk)}")
    (case "probe: an icmp target sets the ping group range, no capability" (
      pingRange icmp == "0 2147483647" && capsOf icmp == noCaps
    ) "ping_group_range ${show (pingRange icmp)}, ${show (capsOf icmp)}")
    (case "probe: a systemd target puts systemctl (systemd) on PATH" (
      lib.elem "systemd" (pathNames sd) && lib.head (pathNames sd) == "sov"
    ) "path ${show (pathNames sd)}")
    (case "probe: a postgres target on the local socket gets the role sov-probe and waits for the server; one elsewhere does not" (
      pgUsers localPg == [ "sov-probe" ]
      && lib.elem "postgresql.service" (unitOf localPg).after
      && !(lib.elem "postgresql.service" (unitOf localPg).requires)
      && pgUsers remotePg == [ ]
      && !(lib.elem "postgresql.service" (unitOf remotePg).after)
    ) "users ${show (pgUsers localPg)} / ${show (pgUsers remotePg)}, after ${show (unitOf localPg).after}")
    (case "probe: SQLite metrics open their directory and join the group sov" (
      fullSc.ReadWritePaths == [ "-/var/lib/sov" ]
      && fullSc.SupplementaryGroups or null == [ "sov" ]
      && plainSc.ReadWritePaths == [ ]
      && !(plainSc ? SupplementaryGroups)
    ) "ReadWritePaths ${show fullSc.ReadWritePaths}")
    (case "probe: the page is served by nginx on the mesh address only, readable by nginx's group" (
      map (l: { inherit (l) addr port ssl; }) ((vhostOf paged).listen or [ ]) == [
        {
          addr = "10.77.0.1";
          port = 8471;
          ssl = false;
        }
      ]
      && (vhostOf paged).root or null == "/var/lib/sov-probe/page"
      && paged.services.nginx.enable
      && lib.elem "sov-probe" paged.users.users.nginx.extraGroups
      && fwOf paged 8471 == {
        public = false;
        interfaces = [ "wg-sov" ];
      }
      && (scOf paged).StateDirectoryMode == "0710"
      && map (
        l: builtins.match "/nix/store/[^ ]*coreutils[^ ]*/bin/install -d -m 0750 /var/lib/sov-probe/page" l != null
      ) (lib.toList ((scOf paged).ExecStartPre or [ ])) == [ true ]
      && lib.toList (plainSc.ExecStartPre or [ ]) == [ ]
      && hasInfix "--page /var/lib/sov-probe/page" (execOf paged)
      && kept [ "DynamicUser" ] (scOf paged) == [ ]
    ) "vhost ${show (vhostOf paged)}, firewall ${show (fwOf paged 8471)}")
    (case "probe: an IPv6 page address is bracketed; port and interface as given" (
      map (l: "${l.addr}:${toString l.port}") ((vhostOf pagedV6).listen or [ ]) == [ "[fd00:77::1]:9000" ]
      && fwOf pagedV6 9000 == {
        public = false;
        interfaces = [ "wg1" ];
      }
    ) "listen ${show ((vhostOf pagedV6).listen or null)}")
    (case "probe: page.serve = false writes the page without nginx" (
      !(pageFiles.services.nginx.virtualHosts ? sov-probe-page)
      && !pageFiles.services.nginx.enable
      && hasInfix "--page /var/lib/sov-probe/page" (execOf pageFiles)
      && (scOf pageFiles).StateDirectoryMode == "0700"
      && sovFailed pageFiles == [ ]
    ) "vhosts ${show (lib.attrNames pageFiles.services.nginx.virtualHosts)}")
    (case "probe: a served page with nginx turned off fails an assertion" (
      someFailedMentions noNginx [
        "services.sov.probe.page"
        "services.nginx.enable is false"
      ]
    ) "failing: ${show (failedAssertions noNginx)}")
    (case "probe: a served page without an address, or on every address, fails an assertion" (
      someFailedMentions noAddress [ "page.address" ]
      && someFailedMentions anyAddress [
        "page.address"
        "0.0.0.0"
      ]
    ) "failing: ${show (failedAssertions noAddress ++ failedAssertions anyAddress)}")
    (case "probe: a page outside the state directory fails an assertion" (
      someFailedMentions outsideDir [
        "page.dir"
        "/srv/www"
      ]
    ) "failing: ${show (failedAssertions outsideDir)}")
    (case "probe: a target using an alert that is not defined fails an assertion naming both" (
      someFailedMentions undefinedAlert [
        "web uses"
        "\"ops\""
      ]
    ) "failing: ${show (failedAssertions undefinedAlert)}")
    (case "probe: an unknown type, or a name that is no name, fails an assertion" (
      someFailedMentions unknownType [
        "[\"x\"]"
        "type"
      ]
      && someFailedMentions badName [ "Web Site" ]
    ) "failing: ${show (failedAssertions unknownType ++ failedAssertions badName)}")
    (case "probe: %d/NAME without the credential NAME fails an assertion naming it" (
      someFailedMentions missingCred [
        "targets.orders"
        "orders-db"
      ]
    ) "failing: ${show (failedAssertions missingCred)}")
    (case "probe: a password in a postgres url, a credential in the store, a password in metrics fail assertions" (
      someFailedMentions pgPassword [
        "[\"db\"]"
        "url_file"
      ]
      && someFailedMentions storeCred [
        "credentials.orders-db"
        "Nix store"
      ]
      && someFailedMentions metricsPassword [
        "services.sov.probe.metrics"
        "password"
      ]
    ) "failing: ${show (map failedAssertions [ pgPassword storeCred metricsPassword ])}")
    (case "probe: an enqueue alert reaches this host's sov-wf queue; without a worker it warns" (
      (unitOf enqueueWf).environment.SOV_WF_STORE or null == "sqlite:/var/lib/sov-wf/wf.db"
      && probeWarnings enqueueWf == [ ]
      && !((unitOf enqueueAlone).environment ? SOV_WF_STORE)
      && lib.any (hasInfix "[\"ops\"]") (probeWarnings enqueueAlone)
      && sovFailed enqueueAlone == [ ]
      && probeWarnings full == [ ]
    ) "environment ${show (unitOf enqueueWf).environment}, warnings ${show (probeWarnings enqueueAlone)}")
    (case "probe: enabled with no targets fails an assertion" (
      someFailedMentions noTargets [ "no targets" ]
    ) "failing: ${show (failedAssertions noTargets)}")

    # The host profile.
    (case "profile: mesh peers become one wireguard target each, with the capability" (
      targetsOf heartMesh == {
        disk-root = diskRoot;
        mesh-brain = wgTarget "brain";
        mesh-gateway = wgTarget "gateway";
      }
      && (capsOf heartMesh).CapabilityBoundingSet == [ "CAP_NET_ADMIN" ]
      && (targetsOf brainMesh) ? mesh-heart
    ) "targets ${show (targetsOf heartMesh)}")
    (case "profile: with no peers, no wireguard target and no capability" (
      capsOf hosts.heart.config == noCaps
    ) "${show (capsOf hosts.heart.config)}")
    (case "profile: a host with PostgreSQL probes it through the socket as sov-probe" (
      (targetsOf heartPg).postgresql or null == {
        type = "postgres";
        url = "postgresql:///postgres?host=/run/postgresql&port=5432";
        query = "SELECT 1";
      }
      && lib.elem "sov-probe" (pgUsers heartPg)
      && !((targetsOf hosts.heart.config) ? postgresql)
    ) "targets ${show (targetsOf heartPg)}")
    (case "profile: /var/lib is probed when /var or /var/lib is a file system of its own" (
      (targetsOf heartVar).disk-var-lib or null == diskRoot // { path = "/var/lib"; }
      && !((targetsOf hosts.heart.config) ? disk-var-lib)
    ) "targets ${show (lib.attrNames (targetsOf heartVar))}")
    (case "profile: the gateway watches the certificate of each TLS name nginx serves, aliases too" (
      lib.filterAttrs (n: _: lib.hasPrefix "cert-" n) (targetsOf gatewayTls) == {
        "cert-shop.example.com" = tlsTarget "shop.example.com";
        "cert-www.shop.example.com" = tlsTarget "www.shop.example.com";
        "cert-api.example.com" = tlsTarget "api.example.com";
      }
    ) "targets ${show (lib.attrNames (targetsOf gatewayTls))}")
    (case "profile: each backup job's newest snapshot is watched, with its password as a credential" (
      (targetsOf heartBackup).backup-nightly or null == backupWant
      && lib.elem "backup-nightly:${backupPassword}" (scOf heartBackup).LoadCredential
      && (capsOf heartBackup).CapabilityBoundingSet == [ "CAP_DAC_READ_SEARCH" ]
      && !(hasInfix backupPassword (execOf heartBackup))
    ) "target ${show ((targetsOf heartBackup).backup-nightly or null)}, LoadCredential ${show (scOf heartBackup).LoadCredential}")
    (case "profile: a host changes one field or drops a target; mkForce replaces one whole" (
      (targetsOf tuned).disk-root == diskRoot // { min_free_percent = 5; }
      && !((targetsOf tuned) ? mesh-brain)
      && (targetsOf tuned) ? mesh-gateway
      && (targetsOf replaced).disk-root == {
        type = "disk";
        path = "/srv";
      }
    ) "tuned ${show (targetsOf tuned)}, replaced ${show (targetsOf replaced).disk-root}")
    (case "profile: heart with a mesh address serves the page there; brain and gateway do not" (
      let
        at = host: extend host [ { sov.mesh.address = "10.77.0.9"; } ];
      in
      (at "heart").services.sov.probe.page.enable
      && ((vhostOf (at "heart")).listen or [ ]) != [ ]
      && sovFailed (at "heart") == [ ]
      && !(at "brain").services.sov.probe.page.enable
      && !(at "gateway").services.sov.probe.page.enable
      && !hosts.heart.config.services.sov.probe.page.enable
    ) "heart's page ${show (extend "heart" [ { sov.mesh.address = "10.77.0.9"; } ]).services.sov.probe.page}")
    (case "profile: hostTargets.alerts go on every default target" (
      (targetsOf alerted).disk-root.alerts or null == [ "ops" ]
    ) "disk-root ${show (targetsOf alerted).disk-root}")
    (case "profile: hostTargets.enable = false (or no role) leaves the probe off" (
      !profileOff.services.sov.probe.enable
      && profileOff.services.sov.probe.targets == { }
      && !roleless.services.sov.probe.enable
    ) "enable ${show profileOff.services.sov.probe.enable}, targets ${show (lib.attrNames profileOff.services.sov.probe.targets)}")
  ];
}
