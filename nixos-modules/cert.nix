# services.sov.cert: ACME certificates with sov-cert (docs/nix.md, "cert";
# the tool and the definitions file: docs/cert.md). Three units:
#
#   sov-cert-prepare.service  oneshot, before nginx and sov-cert: makes the
#                             webroot, and a self-signed placeholder for
#                             every certificate not issued yet, so nginx can
#                             start (and answer on 443) before the first
#                             issuance
#   sov-cert.service          `sov-cert sync --config FILE`: issues what is
#                             declared and missing or changed, renews what
#                             is due; at boot, and daily by the timer
#   sov-cert.timer            daily, Persistent, RandomizedDelaySec
#
# and, after a run that installed something, the reloadServices of those
# certificates are reloaded (or restarted) by the unit's ExecStopPost, the
# one step that runs privileged: sov-cert itself has no way to.
#
# The definitions are written with builtins.toJSON; the EAB MAC key reaches
# sov-cert only as the credential eab-hmac (LoadCredential), never in the
# store, argv or the environment.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.sov.cert;

  user = "sov-cert";
  stateDir = "/var/lib/sov-cert";
  certDir = name: "${stateDir}/certs/${name}";
  bin = "${cfg.package}/bin/sov-cert";
  letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory";

  util = import ./unit-util.nix { inherit lib; };
  inherit (util)
    execLine
    secretAssertions
    sqliteFile
    urlHasPassword
    ;
  metricsFile = sqliteFile cfg.metrics;

  # The port of a --standalone address (":80", "127.0.0.1:80", "[::1]:80").
  portOf = a: lib.toIntBase10 (lib.last (lib.splitString ":" a));
  portOk = a: builtins.match "([0-9.]+|[[][0-9A-Fa-f:.]+[]])?:[0-9]{1,5}" a != null;

  certs = cfg.certs;
  # How each certificate answers http-01: its standalone address, or a
  # webroot (its own, else the shared one nginx serves).
  usesStandalone = c: c.challenge == "http-01" && c.standalone != null;
  webrootOf =
    c:
    if c.challenge != "http-01" || c.standalone != null then
      null
    else if c.webroot != null then
      c.webroot
    else
      cfg.webroot;
  lowPorts = lib.filter (c: usesStandalone c && portOk c.standalone && portOf c.standalone < 1024) (
    lib.attrValues certs
  );
  needBind = lowPorts != [ ];
  vhostCerts = lib.filterAttrs (_: c: c.nginxVirtualHosts != [ ]) certs;
  nginxOn = config.services.nginx.enable;
  sslOn = v: v.forceSSL || v.addSSL || v.onlySSL;
  servesTls =
    name:
    config.services.nginx.virtualHosts ? ${name} && sslOn config.services.nginx.virtualHosts.${name};

  # What sov-cert runs after each install, as `HOOK deployed NAME DIR`: the
  # key readable by the group (nginx reads it as a member), the name noted
  # for the reload step, then the certificate's own hooks.
  deployed = "${stateDir}/deployed";
  deployHook =
    name: c:
    pkgs.writeShellScript "sov-cert-deploy-${name}" ''
      set -eu
      ${pkgs.coreutils}/bin/chmod 0640 "$3/key.pem"
      echo "$2" >>${deployed}
      ${lib.concatMapStrings (h: ''
        ${lib.escapeShellArg h} "$@"
      '') c.deployHooks}
    '';

  reloadsOf =
    c: lib.unique (c.reloadServices ++ lib.optional (c.nginxVirtualHosts != [ ]) "nginx.service");
  reloadScript = pkgs.writeShellScript "sov-cert-reload" ''
    set -u
    [ -s ${deployed} ] || exit 0
    names=$(${pkgs.coreutils}/bin/sort -u ${deployed})
    ${pkgs.coreutils}/bin/rm -f ${deployed}
    status=0
    for name in $names; do
      case $name in
      ${lib.concatStrings (
        lib.mapAttrsToList (
          name: c:
          lib.optionalString (reloadsOf c != [ ]) ''
            ${lib.escapeShellArg name})
              ${pkgs.systemd}/bin/systemctl try-reload-or-restart ${lib.escapeShellArgs (reloadsOf c)} || status=1
              ;;
          ''
        ) certs
      )}
      esac
    done
    exit $status
  '';

  dropNulls = lib.filterAttrs (_: v: v != null);
  definitions = {
    server = cfg.server;
    account = dropNulls {
      email = cfg.email;
      agree_tos = cfg.acceptTerms;
      eab_kid = cfg.eab.kid;
    };
    certs = lib.mapAttrs (
      name: c:
      dropNulls {
        inherit (c) domains challenge;
        key_type = c.keyType;
        webroot = webrootOf c;
        standalone = if c.challenge == "http-01" then c.standalone else null;
        dns_hook = if c.challenge == "dns-01" then c.dnsHookFile else null;
        deploy_hook = "${deployHook name c}";
        preferred_chain = c.preferredChain;
      }
    ) certs;
  }
  # Interpolated: a path value (./ca.pem) goes into the store, as it must
  # to reach the host.
  // lib.optionalAttrs (cfg.caFile != null) { ca_file = "${cfg.caFile}"; };
  # Checked as sov-cert will read it while the system is built: a bad
  # definition fails the build (exit 2, naming the JSON path), never the
  # running service.
  configFile =
    pkgs.runCommand "sov-cert.json"
      {
        nativeBuildInputs = [ cfg.package ];
        json = builtins.toJSON definitions;
        passAsFile = [ "json" ];
      }
      ''
        sov-cert sync --check --config "$jsonPath"
        cp "$jsonPath" "$out"
      '';

  # The placeholders: a self-signed certificate for each one not issued
  # yet (no certs/NAME/fullchain.pem), for its names, valid 30 days. It has
  # no meta.json, so the next sync replaces it ("no meta.json").
  prepareScript = pkgs.writeShellScript "sov-cert-prepare" ''
    set -eu
    umask 0027
    ${pkgs.coreutils}/bin/mkdir -p ${stateDir}/certs ${cfg.webroot}/.well-known/acme-challenge
    ${lib.concatStrings (
      lib.mapAttrsToList (name: c: ''
        d=${certDir name}
        if [ ! -e "$d/fullchain.pem" ]; then
          ${pkgs.coreutils}/bin/mkdir -p "$d"
          ${pkgs.openssl}/bin/openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
            -nodes -days 30 -subj "/CN=sov-cert placeholder" \
            -addext ${lib.escapeShellArg "subjectAltName=${lib.concatMapStringsSep "," (d: "DNS:${d}") c.domains}"} \
            -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
          ${pkgs.coreutils}/bin/cp "$d/cert.pem" "$d/fullchain.pem"
          : >"$d/chain.pem"
          ${pkgs.coreutils}/bin/chmod 0640 "$d/key.pem"
        fi
      '') vhostCerts
    )}
  '';

  # What both units share: the user nginx can read by group, the state.
  unitBase = config.sov.lib.hardening // {
    # Relaxed: a fixed user owns the certificates across runs and both
    # units; nginx reads them as a member of its group.
    DynamicUser = false;
    User = user;
    Group = user;
    StateDirectory = "sov-cert";
    # Relaxed: nginx (group sov-cert) passes through to certs/ and the
    # webroot without listing the state directory; account/ stays 0700.
    StateDirectoryMode = "0710";
    # Relaxed: directories 0750 and files 0640 for the group (the keys are
    # made 0600 by sov-cert and 0640 by the deploy hook).
    UMask = "0027";
    WorkingDirectory = stateDir;
  };

  certModule =
    { name, ... }:
    {
      options = {
        domains = mkOption {
          type = types.nonEmptyListOf types.str;
          default = [ name ];
          defaultText = lib.literalExpression "[ <name> ]";
          example = [
            "example.org"
            "www.example.org"
          ];
          description = "The names in the certificate, lower case; `*.` first needs dns-01.";
        };
        keyType = mkOption {
          type = types.enum [
            "ec256"
            "ec384"
            "rsa2048"
            "rsa3072"
            "rsa4096"
          ];
          default = "ec256";
          description = "The certificate key's type (a new key at every issuance).";
        };
        challenge = mkOption {
          type = types.enum [
            "http-01"
            "dns-01"
          ];
          default = "http-01";
          description = "How the names are proved: a file over HTTP (port 80), or a TXT record.";
        };
        webroot = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "/srv/www/example";
          description = ''
            http-01: the directory whose .well-known/acme-challenge/ a web
            server on port 80 serves. null: services.sov.cert.webroot, which
            nginxVirtualHosts serve. Ignored when standalone is set.
          '';
        };
        standalone = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = ":80";
          description = ''
            http-01: answer with sov-cert's own responder on this address
            (":80", "192.0.2.1:80", "[2001:db8::1]:80") instead of a webroot.
            A port below 1024 grants the unit CAP_NET_BIND_SERVICE and
            nothing else.
          '';
        };
        dnsHookFile = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = lib.literalExpression ''"''${./dns-hook}"'';
          description = ''
            dns-01: an executable, run as `HOOK set|unset _acme-challenge.NAME
            VALUE` (docs/cert.md); it must return once the record is served.
            Runs as the user sov-cert with the unit's hardening.
          '';
        };
        deployHooks = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = ''
            Executables run as `HOOK deployed NAME DIR` after each install of
            this certificate, as the user sov-cert (unprivileged: use
            reloadServices to reload a service).
          '';
        };
        reloadServices = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "postfix.service" ];
          description = ''
            Units reloaded (or restarted, `systemctl try-reload-or-restart`)
            after a run that installed this certificate. nginx.service is
            added when nginxVirtualHosts is set.
          '';
        };
        preferredChain = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "ISRG Root X1";
          description = "The chain whose top certificate is issued by this CN, when the CA offers it.";
        };
        nginxVirtualHosts = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "shop" ];
          description = ''
            services.nginx.virtualHosts that serve this certificate: their
            sslCertificate and sslCertificateKey point at
            ${stateDir}/certs/NAME/, and with a webroot they serve
            /.well-known/acme-challenge/ from it. A self-signed placeholder
            stands in until the first issuance, so nginx starts at once.
          '';
        };
      };
    };
in
{
  options.services.sov.cert = {
    enable = lib.mkEnableOption "ACME certificates with sov-cert (sov-cert.service and its timer)";

    package = lib.mkPackageOption pkgs "sov" { };

    server = mkOption {
      type = types.str;
      default = letsEncrypt;
      example = "https://acme-staging-v02.api.letsencrypt.org/directory";
      description = ''
        The CA's ACME directory URL. Changing it issues every certificate
        again from the new CA at the next run.
      '';
    };

    caFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "CA certificates to trust for the ACME server's own TLS (a private CA, pebble); null: the system's.";
    };

    email = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "ops@example.org";
      description = "The account's contact, given when the account is created.";
    };

    acceptTerms = mkOption {
      type = types.bool;
      default = false;
      description = "Agree to the CA's terms of service, which creating the account needs.";
    };

    eab = {
      kid = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "External Account Binding key id, for a CA that requires one.";
      };
      hmacFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/acme-eab-hmac";
        description = ''
          The file holding the EAB MAC key (base64url), outside the Nix
          store; passed as the credential eab-hmac.
        '';
      };
    };

    webroot = mkOption {
      type = types.str;
      default = "${stateDir}/webroot";
      description = "The shared http-01 webroot, served by the nginxVirtualHosts of the certificates that use it.";
    };

    certs = mkOption {
      type = types.attrsOf (types.submodule certModule);
      default = { };
      example = lib.literalExpression ''
        {
          shop = {
            domains = [ "shop.example.org" "www.shop.example.org" ];
            nginxVirtualHosts = [ "shop" ];
          };
        }
      '';
      description = ''
        The certificates, by name (1 to 64 of A-Z a-z 0-9 . _ -): each
        installed as ${stateDir}/certs/NAME/{fullchain,key}.pem.
        Certificates in the state directory that are not declared here are
        left alone.
      '';
    };

    metrics = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "sqlite:/var/lib/sov/measurements.sqlite";
      description = ''
        The measurements store (`--metrics`): cert.days_left and
        cert.renewal.seconds after each run. `sqlite:/ABS/PATH` or a
        PostgreSQL URL without a password (the unit file is world-readable).
        null: none written.
      '';
    };

    randomizedDelaySec = mkOption {
      type = types.str;
      default = "1h";
      description = "The timer's RandomizedDelaySec: spreads the daily runs of many hosts.";
    };

    scripts = mkOption {
      type = types.attrsOf types.package;
      readOnly = true;
      internal = true;
      default = {
        prepare = prepareScript;
        reload = reloadScript;
      }
      // lib.mapAttrs' (name: c: lib.nameValuePair "deploy-${name}" (deployHook name c)) certs;
      description = "The scripts of the units and each certificate's deploy hook, for the tests.";
    };

    definitionsFile = mkOption {
      type = types.package;
      readOnly = true;
      default = configFile;
      defaultText = lib.literalMD "the certificates as JSON (docs/cert.md)";
      description = "The file `sov-cert sync --config` reads, written from the options above and checked by `sov-cert sync --check` when it is built.";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions =
          [
            {
              assertion = certs == { } || cfg.acceptTerms;
              message = "sov: services.sov.cert.certs needs an account: set services.sov.cert.acceptTerms = true to agree to the terms of ${cfg.server}.";
            }
            {
              assertion = (cfg.eab.kid == null) == (cfg.eab.hmacFile == null);
              message = "sov: services.sov.cert.eab: give both kid and hmacFile, or neither.";
            }
            {
              assertion = !(urlHasPassword cfg.metrics);
              message = "sov: services.sov.cert.metrics carries a password, and unit files are world-readable in the Nix store: use the local socket with peer authentication (postgresql:///DB?host=/run/postgresql) or an sqlite: store.";
            }
            {
              assertion = metricsFile == null || lib.hasPrefix "/" metricsFile;
              message = "sov: services.sov.cert.metrics ${builtins.toJSON cfg.metrics}: the SQLite file must be an absolute path (sqlite:/ABS/PATH).";
            }
            {
              assertion = cfg.email == null || builtins.match "[^@ ,:<>\"]+@[^@ ,:<>\"]+" cfg.email != null;
              message = "sov: services.sov.cert.email ${builtins.toJSON cfg.email} is not an address.";
            }
          ]
          ++ lib.optionals (cfg.eab.hmacFile != null) (
            secretAssertions "services.sov.cert.eab.hmacFile" cfg.eab.hmacFile
          )
          ++ lib.concatLists (
            lib.mapAttrsToList (
              name: c:
              let
                opt = "services.sov.cert.certs.${lib.strings.escapeNixIdentifier name}";
              in
              [
                {
                  assertion = builtins.match "[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}" name != null;
                  message = "sov: ${opt}: a certificate name is 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'.";
                }
                {
                  assertion = c.challenge == "dns-01" || !(lib.any (lib.hasPrefix "*.") c.domains);
                  message = "sov: ${opt}: a wildcard name needs challenge = \"dns-01\".";
                }
                {
                  assertion = c.challenge == "http-01" || c.dnsHookFile != null;
                  message = "sov: ${opt}: dns-01 needs dnsHookFile.";
                }
                {
                  assertion = c.standalone == null || portOk c.standalone;
                  message = "sov: ${opt}.standalone ${builtins.toJSON c.standalone}: want \":PORT\", \"IPV4:PORT\" or \"[IPV6]:PORT\".";
                }
                {
                  assertion = !(usesStandalone c && portOk c.standalone && portOf c.standalone == 80 && nginxOn);
                  message = "sov: ${opt}.standalone listens on port 80, which nginx holds: leave standalone unset (the webroot nginx serves) or turn nginx off.";
                }
                {
                  assertion = lib.all (h: lib.hasPrefix "/" h) (
                    c.deployHooks ++ lib.optional (c.dnsHookFile != null) c.dnsHookFile
                  );
                  message = "sov: ${opt}: dnsHookFile and deployHooks must be absolute paths.";
                }
                {
                  assertion = c.nginxVirtualHosts == [ ] || nginxOn;
                  message = "sov: ${opt}.nginxVirtualHosts is set, but services.nginx.enable is false.";
                }
                {
                  # A name nothing else defines makes an empty host: a typo.
                  assertion = !nginxOn || lib.all servesTls c.nginxVirtualHosts;
                  message = "sov: ${opt}.nginxVirtualHosts names ${builtins.toJSON (lib.filter (v: !(servesTls v)) c.nginxVirtualHosts)}: a virtual host with none of forceSSL, addSSL and onlySSL, which would not serve the certificate (or a name defined nowhere else).";
                }
              ]
            ) certs
          );

        users.users.${user} = {
          isSystemUser = true;
          group = user;
          home = stateDir;
          description = "sov-cert: ACME account and certificates";
        };
        users.groups.${user} = { };

        systemd.services.sov-cert-prepare = {
          description = "sov-cert: webroot and placeholder certificates";
          serviceConfig = unitBase // {
            Type = "oneshot";
            RemainAfterExit = true;
            ExecStart = "${prepareScript}";
          };
        };

        systemd.services.sov-cert = {
          description = "sov-cert: issue and renew the declared certificates";
          # At boot (and when a switch starts it, changed), and daily by the
          # timer; a run with nothing to do connects to nothing.
          wantedBy = [ "multi-user.target" ];
          wants = [ "network-online.target" ];
          requires = [ "sov-cert-prepare.service" ];
          after = [
            "network-online.target"
            "sov-cert-prepare.service"
          ]
          ++ lib.optional nginxOn "nginx.service";
          restartTriggers = [ configFile ];
          serviceConfig =
            unitBase
            // {
              Type = "oneshot";
              ExecStart = execLine (
                [
                  bin
                  "sync"
                  "--config"
                  "${configFile}"
                ]
                ++ lib.optionals (cfg.metrics != null) [
                  "--metrics"
                  cfg.metrics
                ]
              );
              # Privileged ("+"): reload what the run installed for.
              ExecStopPost = "+${reloadScript}";
              LoadCredential = lib.optional (cfg.eab.hmacFile != null) "eab-hmac:${cfg.eab.hmacFile}";
              # Webroots, and the directory of an SQLite measurements store
              # (its -wal and -shm beside it), outside the state directory
              # ("-": a missing one is sov-cert's error to report, naming it).
              ReadWritePaths = map (w: "-${w}") (
                lib.unique (
                  lib.filter (w: w != null && !(lib.hasPrefix "${stateDir}/" w)) (
                    map webrootOf (lib.attrValues certs)
                    ++ lib.optional (metricsFile != null) (dirOf metricsFile)
                  )
                )
              );
              # An order takes at most 300 s; several certificates more.
              TimeoutStartSec = "1h";
            }
            // lib.optionalAttrs (metricsFile != null) {
              # A measurements store shared by sov services is the group sov's.
              SupplementaryGroups = [ "sov" ];
            }
            // lib.optionalAttrs needBind {
              # Relaxed: the built-in responder binds a port below 1024
              # (${lib.concatMapStringsSep ", " (c: c.standalone) lowPorts}): that and nothing else.
              CapabilityBoundingSet = [ "CAP_NET_BIND_SERVICE" ];
              AmbientCapabilities = [ "CAP_NET_BIND_SERVICE" ];
              # Relaxed: in a private user namespace the capability would
              # not reach the host's network namespace.
              PrivateUsers = false;
            };
        };

        systemd.timers.sov-cert = {
          wantedBy = [ "timers.target" ];
          timerConfig = {
            OnCalendar = "daily";
            Persistent = true;
            RandomizedDelaySec = cfg.randomizedDelaySec;
          };
        };

        # `sov-cert list` for an operator (run as sov-cert to see the state).
        environment.systemPackages = [ cfg.package ];
      }

      # (With nginx off an assertion says so; nothing is set for it.)
      (lib.mkIf (vhostCerts != { } && nginxOn) {
        users.users.${config.services.nginx.user}.extraGroups = [ user ];
        # nginx starts with the placeholders when there is nothing better.
        systemd.services.sov-cert-prepare = {
          before = [ "nginx.service" ];
          requiredBy = [ "nginx.service" ];
        };
        services.nginx.virtualHosts = lib.mkMerge (
          lib.mapAttrsToList (
            name: c:
            lib.genAttrs c.nginxVirtualHosts (_: {
              sslCertificate = "${certDir name}/fullchain.pem";
              sslCertificateKey = "${certDir name}/key.pem";
              locations = lib.optionalAttrs (webrootOf c != null) {
                "/.well-known/acme-challenge/".root = webrootOf c;
              };
            })
          ) vhostCerts
        );
      })
    ]
  );
}
