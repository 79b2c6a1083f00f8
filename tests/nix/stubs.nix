# Stand-ins for the NixOS options the sov modules touch, so the modules can be
# evaluated with lib.evalModules and the nixpkgs lib alone (docs/nix.md).
#
# Every option is declared by name with the type NixOS gives it, so a typo in
# a module is an evaluation error here as it is in NixOS. Merges follow
# NixOS: lists concatenate, attribute sets merge, two different values for a
# scalar conflict (systemd unit settings included). Where NixOS turns one
# option into another, the stand-in does the same for the options we rely on:
# services.openssh.openFirewall adds its ports to the firewall, and
# systemd.services.<name>.startAt makes a timer.
#
# The flake's eval checks run the same cases against the real NixOS modules
# (tests/nix/cases.nix), so a stand-in that drifts from NixOS shows there.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;

  opt =
    type: default: description:
    mkOption { inherit type default description; };
  bool = default: opt types.bool default "";
  strList = opt (types.listOf types.str) [ ] "";

  # systemd's unit settings: a list on either side concatenates, otherwise
  # every definition must agree (nixos/lib/systemd-unit-options.nix).
  unitOption = lib.mkOptionType {
    name = "systemd option";
    check =
      v:
      builtins.isBool v
      || builtins.isInt v
      || builtins.isString v
      || builtins.isPath v
      || builtins.isList v
      || lib.isDerivation v;
    merge =
      loc: defs:
      if lib.any (d: builtins.isList d.value) defs then
        lib.concatMap (d: lib.toList d.value) defs
      else
        lib.mergeEqualOption loc defs;
  };
  unitSettings = opt (types.attrsOf unitOption) { } "";

  serviceModule =
    { name, ... }:
    {
      options = {
        enable = bool true;
        description = opt types.str "" "";
        documentation = strList;
        wantedBy = strList;
        requiredBy = strList;
        after = strList;
        before = strList;
        wants = strList;
        requires = strList;
        bindsTo = strList;
        partOf = strList;
        conflicts = strList;
        path = opt (types.listOf (types.either types.package types.str)) [ ] "";
        environment = opt (types.attrsOf (types.nullOr (types.either types.str types.package))) { } "";
        unitConfig = unitSettings;
        serviceConfig = unitSettings;
        script = opt types.lines "" "";
        preStart = opt types.lines "" "";
        postStart = opt types.lines "" "";
        startAt = opt (types.either types.str (types.listOf types.str)) [ ] "";
        restartIfChanged = bool true;
        restartTriggers = opt (types.listOf types.unspecified) [ ] "";
        reloadTriggers = opt (types.listOf types.unspecified) [ ] "";
      };
    };

  timerModule = {
    options = {
      enable = bool true;
      description = opt types.str "" "";
      wantedBy = strList;
      unitConfig = unitSettings;
      timerConfig = unitSettings;
    };
  };

  userModule =
    { name, ... }:
    {
      options = {
        name = opt types.str name "";
        description = opt types.str "" "";
        isSystemUser = bool false;
        isNormalUser = bool false;
        uid = opt (types.nullOr types.int) null "";
        group = opt types.str "" "";
        extraGroups = strList;
        home = opt types.path "/var/empty" "";
        createHome = bool false;
        hashedPassword = opt (types.nullOr types.str) null "";
        hashedPasswordFile = opt (types.nullOr types.str) null "";
        openssh.authorizedKeys = {
          keys = opt (types.listOf types.singleLineStr) [ ] "";
          keyFiles = opt (types.listOf types.path) [ ] "";
        };
      };
    };

  groupModule =
    { name, ... }:
    {
      options = {
        name = opt types.str name "";
        gid = opt (types.nullOr types.int) null "";
        members = strList;
      };
    };

  # environment.etc.<name>: a file from `text` or `source` (a path or a
  # package, a directory too), linked at /etc/<target>.
  etcModule =
    { name, ... }:
    {
      options = {
        enable = bool true;
        target = opt types.str name "";
        text = opt (types.nullOr types.lines) null "";
        source = mkOption {
          type = types.path;
          description = "";
        };
        mode = opt types.str "symlink" "";
        user = opt types.str "+0" "";
        group = opt types.str "+0" "";
      };
    };

  fileSystemModule = {
    options = {
      device = opt (types.nullOr types.nonEmptyStr) null "";
      fsType = opt types.nonEmptyStr "auto" "";
      options = opt (types.nonEmptyListOf types.nonEmptyStr) [ "defaults" ] "";
      neededForBoot = bool false;
    };
  };

  portList = opt (types.listOf types.port) [ ] "";
  rangeList = opt (types.listOf (types.attrsOf types.port)) [ ] "";
  firewallPorts = {
    allowedTCPPorts = portList;
    allowedUDPPorts = portList;
    allowedTCPPortRanges = rangeList;
    allowedUDPPortRanges = rangeList;
  };

  # services.postgresql.ensureUsers.* (ensurePermissions is gone since 24.05).
  pgUserModule = {
    options = {
      name = mkOption { type = types.str; };
      ensureDBOwnership = bool false;
      ensureClauses = lib.genAttrs [
        "superuser"
        "createrole"
        "createdb"
        "inherit"
        "login"
        "replication"
        "bypassrls"
      ] (_: opt (types.nullOr types.bool) null "");
    };
  };

  # services.nginx.virtualHosts.<name>: the settings the sov modules use
  # and read (nixos/modules/services/web-servers/nginx/vhost-options.nix).
  nginxLocationModule = {
    options = {
      root = opt (types.nullOr types.path) null "";
      alias = opt (types.nullOr types.path) null "";
      index = opt (types.nullOr types.str) null "";
      tryFiles = opt (types.nullOr types.str) null "";
      proxyPass = opt (types.nullOr types.str) null "";
      extraConfig = opt types.lines "" "";
    };
  };
  nginxVhostModule = {
    options = {
      serverName = opt (types.nullOr types.str) null "";
      serverAliases = strList;
      listen = opt (types.listOf (
        types.submodule {
          options = {
            addr = mkOption {
              type = types.str;
              description = "";
            };
            port = opt (types.nullOr types.port) null "";
            ssl = bool false;
            proxyProtocol = bool false;
            extraParameters = strList;
          };
        }
      )) [ ] "";
      listenAddresses = strList;
      default = bool false;
      forceSSL = bool false;
      addSSL = bool false;
      onlySSL = bool false;
      rejectSSL = bool false;
      enableACME = bool false;
      useACMEHost = opt (types.nullOr types.str) null "";
      sslCertificate = opt types.path "/var/lib/acme/x/fullchain.pem" "";
      sslCertificateKey = opt types.path "/var/lib/acme/x/key.pem" "";
      root = opt (types.nullOr types.path) null "";
      locations = opt (types.attrsOf (types.submodule nginxLocationModule)) { } "";
      extraConfig = opt types.lines "" "";
    };
  };

  ssh = config.services.openssh;
in
{
  options = {
    assertions = opt (types.listOf (
      types.submodule {
        options = {
          assertion = mkOption { type = types.bool; };
          message = mkOption { type = types.str; };
        };
      }
    )) [ ] "";
    warnings = opt (types.listOf types.str) [ ] "";

    nixpkgs.hostPlatform = mkOption {
      type = types.either types.str types.attrs;
      description = "";
    };

    system.stateVersion = mkOption {
      type = types.str;
      description = "";
    };

    time.timeZone = opt (types.nullOr (types.strMatching "[^ ]+")) null "";

    environment.systemPackages = opt (types.listOf types.package) [ ] "";
    environment.variables = opt (types.attrsOf (
      types.either (types.either types.str types.path) (types.listOf (types.either types.str types.path))
    )) { } "";
    environment.etc = opt (types.attrsOf (types.submodule etcModule)) { } "";

    networking.hostName = opt (types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$") "nixos" "";
    networking.hosts = opt (types.attrsOf (types.listOf types.str)) { } "";
    networking.firewall = firewallPorts // {
      enable = bool true;
      interfaces = opt (types.attrsOf (types.submodule { options = firewallPorts; })) { } "";
    };

    users.mutableUsers = bool true;
    users.users = opt (types.attrsOf (types.submodule userModule)) { } "";
    users.groups = opt (types.attrsOf (types.submodule groupModule)) { } "";

    services.openssh = {
      enable = bool false;
      openFirewall = bool true;
      ports = opt (types.listOf types.port) [ 22 ] "";
      settings = mkOption {
        default = { };
        description = "";
        type = types.submodule {
          freeformType = types.attrsOf (
            types.nullOr (
              types.oneOf [
                types.bool
                types.int
                types.str
                (types.listOf types.str)
              ]
            )
          );
          options = {
            PasswordAuthentication = bool true;
            KbdInteractiveAuthentication = bool true;
            PermitRootLogin = opt (types.enum [
              "yes"
              "without-password"
              "prohibit-password"
              "forced-commands-only"
              "no"
            ]) "prohibit-password" "";
          };
        };
      };
    };

    services.journald.extraConfig = opt types.lines "" "";

    services.nginx = {
      enable = bool false;
      user = opt types.str "nginx" "";
      group = opt types.str "nginx" "";
      virtualHosts = opt (types.attrsOf (types.submodule nginxVhostModule)) { } "";
    };

    services.postgresql = {
      enable = bool false;
      # NixOS picks the default from system.stateVersion (17 for 25.11).
      package = opt types.package pkgs.postgresql "";
      ensureDatabases = strList;
      ensureUsers = opt (types.listOf (types.submodule pgUserModule)) [ ] "";
      settings = mkOption {
        default = { };
        description = "";
        type = types.submodule {
          freeformType = types.attrsOf (
            types.oneOf [
              types.bool
              types.float
              types.int
              types.str
            ]
          );
          options.port = opt types.port 5432 "";
        };
      };
    };

    nix.settings = mkOption {
      default = { };
      description = "";
      type = types.submodule {
        freeformType = types.attrsOf types.anything;
        options = {
          experimental-features = strList;
          auto-optimise-store = bool false;
        };
      };
    };
    nix.gc = {
      automatic = bool false;
      dates = opt types.singleLineStr "03:15" "";
      persistent = bool true;
      options = opt types.singleLineStr "" "";
    };

    boot.loader = {
      systemd-boot.enable = bool false;
      efi.canTouchEfiVariables = bool false;
      grub = {
        enable = bool true;
        device = opt types.str "" "";
      };
    };

    # A value per key; two different ones conflict, as in NixOS.
    boot.kernel.sysctl = opt (types.attrsOf (
      types.nullOr (
        types.oneOf [
          types.bool
          types.str
          types.int
        ]
      )
    )) { } "";

    fileSystems = opt (types.attrsOf (types.submodule fileSystemModule)) { } "";

    systemd.services = opt (types.attrsOf (types.submodule serviceModule)) { } "";
    systemd.timers = opt (types.attrsOf (types.submodule timerModule)) { } "";
    systemd.tmpfiles.rules = strList;
  };

  config = {
    networking.firewall.allowedTCPPorts = lib.mkIf (ssh.enable && ssh.openFirewall) ssh.ports;

    systemd.timers = lib.mapAttrs (name: service: {
      wantedBy = [ "timers.target" ];
      timerConfig.OnCalendar = service.startAt;
    }) (lib.filterAttrs (name: service: service.enable && service.startAt != [ ]) config.systemd.services);
  };
}
