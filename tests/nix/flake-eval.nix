# flake.nix evaluated against a stand-in nixpkgs (tests/nix/flake-standin),
# since the real one cannot be fetched here. What this proves: the flake's
# own wiring — its outputs, what the package and the dev shell are given,
# which checks exist and that the eval checks pass on the flake's hosts, what
# the VM tests boot. What it cannot: that nixpkgs has these packages and
# options (the flake checks, run where Nix has the network, show that).
#
# `lib.nixosSystem` is stood in for by lib.evalModules with the option
# stand-ins, plus what the flake reads from a NixOS system: nixpkgs.overlays
# and system.build.toplevel, which like NixOS's fails on a failed assertion.
{ lib }:
let
  inherit (lib) all attrNames elem;

  case = name: ok: msg: { inherit name ok msg; };
  show = builtins.toJSON;
  names = map (p: p.name);
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  hostNames = [
    "heart"
    "brain"
    "gateway"
  ];

  systemModule =
    { config, lib, ... }:
    let
      failed = lib.filter (a: !a.assertion) config.assertions;
    in
    {
      options.nixpkgs.overlays = lib.mkOption {
        type = lib.types.listOf lib.types.unspecified;
        default = [ ];
      };
      options.system.build.toplevel = lib.mkOption { type = lib.types.unspecified; };
      config = {
        _module.args.pkgs = import ./flake-standin {
          system = config.nixpkgs.hostPlatform;
          inherit (config.nixpkgs) overlays;
        };
        system.build.toplevel =
          if failed != [ ] then
            throw "Failed assertions:\n${lib.concatMapStringsSep "\n" (a: "- ${a.message}") failed}"
          else
            {
              drvPath = "/nix/store/00000000000000000000000000000000-nixos-system-${config.networking.hostName}.drv";
            };
      };
    };

  nixpkgs = {
    outPath = toString ./flake-standin;
    lib = lib // {
      nixosSystem =
        { modules }:
        lib.evalModules {
          class = "nixos";
          modules = [
            ./stubs.nix
            systemModule
          ]
          ++ modules;
        };
    };
  };

  flake = import ../../flake.nix;
  self = outputs // {
    outPath = toString ../..;
  };
  outputs = flake.outputs { inherit self nixpkgs; };

  version = lib.fileContents ../../VERSION;
  pkg = outputs.packages.x86_64-linux.default;
  shell = outputs.devShells.x86_64-linux.default.attrs;
  shellNames = names shell.packages;
  bats = lib.findFirst (p: p.name == "bats-with-libraries") { libraries = [ ]; } shell.packages;
  checksOf = s: outputs.checks.${s};
  wantChecks = [
    "eval-brain"
    "eval-gateway"
    "eval-heart"
    "eval-modules"
    "sov"
    "standin"
    "vm-backup"
    "vm-brain"
    "vm-cert"
    "vm-gateway"
    "vm-heart"
    "vm-probe"
    "vm-wf"
  ];
  evalChecks = lib.filterAttrs (n: _: lib.hasPrefix "eval-" n) (checksOf "x86_64-linux");
  badEval = attrNames (
    lib.filterAttrs (
      n: c: lib.hasInfix "not ok" c.env.tap || lib.hasInfix "exit 1" c.script || c.env.tap == ""
    ) evalChecks
  );
  hostTop = map (h: (checksOf "x86_64-linux")."eval-${h}".env.toplevel) hostNames;
  vm = h: (checksOf "x86_64-linux")."vm-${h}";
  vmPorts = h: {
    tcp = (vm h).nodes.${h}.networking.firewall.allowedTCPPorts;
    udp = (vm h).nodes.${h}.networking.firewall.allowedUDPPorts;
  };
  vmOk =
    h:
    attrNames (vm h).nodes == lib.sort lib.lessThan [
      h
      "outside"
    ]
    && (vm h).nodes.${h}.fileSystems == { }
    && (vm h).nodes.${h}.networking.hostName == h
    && elem "sov" (map (p: p.pname) (vm h).nodes.${h}.environment.systemPackages)
    && lib.hasInfix "${h}.wait_for_unit(\"sshd.service\")" (vm h).testScript;
  # tests/nix/vm-backup.nix: heart with PostgreSQL and one backup job.
  vmBackup = (checksOf "x86_64-linux").vm-backup;
  backupNode = vmBackup.nodes.heart;
  backupFailed = map (a: a.message) (lib.filter (a: !a.assertion) backupNode.assertions);
  # tests/nix/vm-wf.nix: heart with PostgreSQL and the worker, a mesh peer.
  vmWf = (checksOf "x86_64-linux").vm-wf;
  wfNode = vmWf.nodes.heart;
  wfCfg = wfNode.services.sov.wf;
  wfFailed = map (a: a.message) (lib.filter (a: !a.assertion) wfNode.assertions);
  # tests/nix/vm-probe.nix: heart with the probe, nginx and the page.
  vmProbe = (checksOf "x86_64-linux").vm-probe;
  probeNode = vmProbe.nodes.heart;
  probeCfg = probeNode.services.sov.probe;
  probeTargets = builtins.fromJSON probeCfg.targetsFile.targets.text;
  probeFailed = map (a: a.message) (lib.filter (a: !a.assertion) probeNode.assertions);
  # tests/nix/vm-cert.nix: the gateway with nginx and a certificate, pebble.
  vmCert = (checksOf "x86_64-linux").vm-cert;
  certNode = vmCert.nodes.gateway;
  certCfg = certNode.services.sov.cert;
  certDefs = builtins.fromJSON certCfg.definitionsFile.json;
  certFailed = map (a: a.message) (lib.filter (a: !a.assertion) certNode.assertions);
  hostPackages = h: map (p: p.pname) outputs.nixosConfigurations.${h}.config.environment.systemPackages;
  overlaid = outputs.overlays.default { callPackage = _: _: "called"; } { };
in
{
  # Each VM test's Python and the names of its nodes (the driver's globals).
  testScripts =
    lib.genAttrs hostNames (h: {
      script = (vm h).testScript;
      nodes = attrNames (vm h).nodes;
    })
    // {
      backup = {
        script = vmBackup.testScript;
        nodes = attrNames vmBackup.nodes;
      };
      wf = {
        script = vmWf.testScript;
        nodes = attrNames vmWf.nodes;
      };
      probe = {
        script = vmProbe.testScript;
        nodes = attrNames vmProbe.nodes;
      };
      cert = {
        script = vmCert.testScript;
        nodes = attrNames vmCert.nodes;
      };
    };

  cases = [
    (case "outputs: packages, overlays, devShells, nixosModules, nixosConfigurations, checks, formatter" (
      attrNames outputs == [
        "checks"
        "devShells"
        "formatter"
        "nixosConfigurations"
        "nixosModules"
        "overlays"
        "packages"
      ]
    ) "outputs ${show (attrNames outputs)}")
    (case "packages.{default,sov} are sov ${version} on both systems" (
      all (
        s:
        let
          p = outputs.packages.${s};
        in
        attrNames p == [
          "default"
          "sov"
        ]
        && p.default.pname == "sov"
        && p.default.version == version
        && p.sov.name == p.default.name
      ) systems
    ) "packages ${show (map (s: lib.mapAttrs (_: p: p.name) outputs.packages.${s}) systems)}")
    (case "package: make WERROR=1, PREFIX=$out, doCheck with check-unit" (
      elem "WERROR=1" pkg.makeFlags
      && lib.any (lib.hasPrefix "PREFIX=") pkg.makeFlags
      && pkg.doCheck
      && pkg.checkTarget == "check-unit"
    ) "makeFlags ${show pkg.makeFlags}, doCheck ${show pkg.doCheck}, checkTarget ${show (pkg.checkTarget or null)}")
    (case "package: pkg-config, and every library the Makefile links" (
      names pkg.nativeBuildInputs == [ "pkg-config" ]
      && lib.sort lib.lessThan (names pkg.buildInputs) == [
        "curl"
        "jq"
        "libmicrohttpd"
        "libpq"
        "libsodium"
        "openssl"
        "sqlite"
        "zstd"
      ]
    ) "nativeBuildInputs ${show (names pkg.nativeBuildInputs)}, buildInputs ${show (names pkg.buildInputs)}")
    (case "package meta: MIT, Linux, no mainProgram" (
      pkg.meta.license.spdxId == "MIT"
      && pkg.meta.platforms == lib.platforms.linux
      && !(pkg.meta ? mainProgram)
      && pkg.meta.description != ""
    ) "license ${show pkg.meta.license.spdxId}, mainProgram ${show (pkg.meta.mainProgram or null)}")
    (case "overlay adds sov and nothing else" (overlaid == { sov = "called"; }) "overlay gave ${show (attrNames overlaid)}")
    (case "dev shell: the build inputs of sov, the tools of the tests, bats with its three libraries" (
      names shell.inputsFrom == [ "sov-${version}" ]
      && all (t: elem t shellNames) [
        "gcc"
        "gnumake"
        "pkg-config"
        "jq"
        "postgresql"
        "sqlite"
        "curl"
        "libsodium"
        "zstd"
        "openssl"
        "libmicrohttpd"
        "bats-with-libraries"
        "clang"
        "llvm"
        "clang-tools"
        "valgrind"
        "nix"
        "wireguard-go"
        "wireguard-tools"
        "iproute2"
      ]
      && bats.libraries == [
        "bats-support"
        "bats-assert"
        "bats-file"
      ]
      && shell ? SOV_NIXPKGS_LIB
    ) "packages ${show shellNames}, bats libraries ${show bats.libraries}")
    (case "checks on both systems: sov, standin, eval-* and vm-* per host" (
      all (s: attrNames (checksOf s) == wantChecks) systems
    ) "checks ${show (map (s: attrNames (checksOf s)) systems)}")
    (case "the eval checks pass on the flake's hosts (the shared cases)" (badEval == [ ])
      "failing eval checks: ${show badEval}"
    )
    (case "each host's eval check evaluates its system.build.toplevel" (all (t: t != "") hostTop)
      "toplevel ${show hostTop}"
    )
    (case "nixosConfigurations: the three hosts, each with the sov package" (
      attrNames outputs.nixosConfigurations == lib.sort lib.lessThan hostNames
      && all (h: elem "sov" (hostPackages h)) hostNames
    ) "hosts ${show (attrNames outputs.nixosConfigurations)}")
    (case "nixosModules.default imports nixos-modules" (
      outputs.nixosModules.default.imports == [ ../../nixos-modules ]
    ) "imports ${show (map toString outputs.nixosModules.default.imports)}")
    (case "VM tests boot each host without its hardware file, next to an outside node" (
      all vmOk hostNames
    ) "ports ${show (lib.genAttrs hostNames vmPorts)}")
    (case "vm-backup boots heart without its hardware file, with PostgreSQL and a valid backup job" (
      attrNames vmBackup.nodes == [ "heart" ]
      && backupNode.fileSystems == { }
      && backupNode.networking.hostName == "heart"
      && backupNode.services.postgresql.enable
      && backupNode.systemd.services ? sov-backup-nightly
      && backupNode.systemd.timers ? sov-backup-nightly
      && backupFailed == [ ]
      && lib.hasInfix "heart.succeed(\"systemctl start sov-backup-nightly.service\")" vmBackup.testScript
      && lib.hasInfix "--postgres-target" vmBackup.testScript
    ) "nodes ${show (attrNames vmBackup.nodes)}, failing assertions ${show backupFailed}")
    (case "vm-wf boots heart without its hardware file, with PostgreSQL and the worker, next to a mesh peer" (
      attrNames vmWf.nodes == [
        "heart"
        "mesh"
      ]
      && wfNode.fileSystems == { }
      && wfNode.networking.hostName == "heart"
      && wfNode.services.postgresql.enable
      && wfCfg.enable
      && lib.hasPrefix "postgresql:///" wfCfg.store
      && attrNames wfCfg.workflows == [
        "lead"
        "tick"
      ]
      && wfNode.systemd.services ? sov-wf-worker
      && wfNode.systemd.services ? sov-wf-pg-owner
      && wfNode.networking.firewall.interfaces.eth1.allowedTCPPorts or [ ] == [ wfCfg.webhook.port ]
      && wfFailed == [ ]
      && lib.all (s: lib.hasInfix s vmWf.testScript) [
        "enqueue lead"
        "run lead"
        "systemctl kill --signal=SIGKILL sov-wf-worker.service"
        "NRestarts"
      ]
    ) "nodes ${show (attrNames vmWf.nodes)}, failing assertions ${show wfFailed}")
    (case "vm-probe boots heart without its hardware file, with the probe's disk and http targets and the page on eth1" (
      attrNames vmProbe.nodes == [
        "heart"
        "mesh"
      ]
      && probeNode.fileSystems == { }
      && probeNode.networking.hostName == "heart"
      && probeCfg.enable
      && probeCfg.page.enable
      && attrNames probeTargets.targets == [
        "disk-root"
        "web"
      ]
      && probeTargets.targets.disk-root.type == "disk"
      && probeTargets.targets.web.type == "http"
      && probeNode.services.nginx.enable
      && probeNode.services.nginx.virtualHosts ? sov-probe-page
      && probeNode.networking.firewall.interfaces.eth1.allowedTCPPorts or [ ] == [ probeCfg.page.port ]
      && probeNode.systemd.services ? sov-probe
      && probeFailed == [ ]
      && lib.all (s: lib.hasInfix s vmProbe.testScript) [
        "systemctl stop nginx.service"
        "probe.state"
        "state.json"
        "systemctl reload sov-probe.service"
      ]
    ) "nodes ${show (attrNames vmProbe.nodes)}, targets ${show (attrNames probeTargets.targets)}, failing assertions ${show probeFailed}")
    (case "vm-cert boots the gateway without its hardware file, with nginx and one certificate, next to pebble" (
      attrNames vmCert.nodes == [
        "gateway"
        "pebble"
      ]
      && certNode.fileSystems == { }
      && certNode.networking.hostName == "gateway"
      && certCfg.enable
      && certDefs.server == "https://pebble:14000/dir"
      && attrNames certDefs.certs == [ "shop" ]
      && certNode.services.nginx.virtualHosts.shop.forceSSL
      && certNode.services.nginx.virtualHosts.shop.sslCertificate == "/var/lib/sov-cert/certs/shop/fullchain.pem"
      && vmCert.nodes.pebble.systemd.services ? pebble
      && certFailed == [ ]
      && lib.all (s: lib.hasInfix s vmCert.testScript) [
        "sov-cert placeholder"
        "systemctl start sov-cert.service"
        "--cacert /tmp/root.pem"
        "skipped"
        "wait_until_fails(\"test -e /var/lib/sov-cert/deployed\""
      ]
    ) "nodes ${show (attrNames vmCert.nodes)}, certs ${show (attrNames (certDefs.certs or { }))}, failing assertions ${show certFailed}")
    (case "formatter is nixfmt on both systems" (
      all (s: outputs.formatter.${s}.name == "nixfmt") systems
    ) "formatter ${show (map (s: outputs.formatter.${s}.name) systems)}")
  ];
}
