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
  ];
in
map (name: {
  group = name;
  cases = hostCases name;
}) hostNames
++ [
  {
    group = "modules";
    cases = moduleCases;
  }
]
