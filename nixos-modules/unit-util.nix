# Helpers the sov modules share to write their systemd units and check
# their options. Not a module:
# `util = import ./unit-util.nix { inherit lib; };`
{ lib }:
rec {
  # user:password@ in a URL, or a password= parameter.
  urlHasPassword =
    url:
    url != null
    && (builtins.match "[A-Za-z0-9+.-]+://[^/@]*:[^/@]*@.*" url != null || lib.hasInfix "password=" url);

  # The file of an sqlite: URL (lib/store.h), else null.
  sqliteFile =
    url:
    let
      path = lib.head (lib.splitString "?" url);
    in
    if url == null || !(lib.hasPrefix "sqlite:" url) || url == "sqlite::memory:" then
      null
    else if lib.hasPrefix "sqlite:///" path then
      lib.removePrefix "sqlite://" path
    else
      lib.removePrefix "sqlite:" path;

  # Durations as the sov tools read them: number-unit groups, "250ms", "1h30m".
  duration = lib.types.strMatching "([0-9]+(ms|s|m|h|d|w))+";

  # A JSON value, as builtins.toJSON writes it (pkgs.formats.json's type
  # without paths, which would be copied into the store).
  jsonValue =
    lib.types.nullOr (
      lib.types.oneOf [
        lib.types.bool
        lib.types.int
        lib.types.float
        lib.types.str
        (lib.types.listOf jsonValue)
        (lib.types.attrsOf jsonValue)
      ]
    )
    // {
      description = "JSON value";
    };

  # The assertions every secret file option gets: absolute, outside the
  # Nix store, and writable into a LoadCredential= line.
  secretAssertions =
    opt: path:
    [
      {
        assertion = lib.hasPrefix "/" path;
        message = "sov: ${opt} must be an absolute path, got ${builtins.toJSON path}.";
      }
      {
        assertion = !(lib.hasPrefix "${builtins.storeDir}/" path);
        message = "sov: ${opt} ${path} is in the Nix store, which every local user (and every machine the closure is copied to) can read: the secret would not be secret. Point it at a file outside the store (written by your secrets tool, e.g. under /run/secrets).";
      }
      {
        assertion = builtins.match "[^[:space:]:\"'\\%$]*" path != null;
        message = "sov: ${opt} ${builtins.toJSON path}: no blanks, ':', quotes, backslashes, '%' or '$' (it goes into a LoadCredential= line).";
      }
    ];

  # Listening addresses: an IPv6 one without its brackets; whether one is
  # every address (null too); whether one is an IP literal a service can
  # bind (no host names).
  bareAddress = a: lib.removeSuffix "]" (lib.removePrefix "[" a);
  isWildcard =
    a:
    a == null
    || lib.elem (bareAddress a) [
      "0.0.0.0"
      "*"
    ]
    || builtins.match "[0:]*" (bareAddress a) != null;
  isIpLiteral =
    a:
    builtins.match "[0-9]{1,3}(\\.[0-9]{1,3}){3}" a != null
    || builtins.match "[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*" (bareAddress a) != null;

  # How a daemon is restarted (serviceConfig): always, ever more slowly
  # (RestartSteps) and never given up on (with unitConfig's
  # StartLimitIntervalSec = 0), but not after exit 2, bad input, which
  # restarting cannot help.
  restartAlways = {
    Restart = "always";
    RestartSec = "2s";
    RestartSteps = 5;
    RestartMaxDelaySec = "1min";
    RestartPreventExitStatus = [ "2" ];
  };

  # A credential's name (LoadCredential=NAME:FILE).
  credentialName = n: builtins.match "[A-Za-z0-9_.-]{1,64}" n != null && n != "." && n != "..";

  # One argument of an Exec line (systemd.service(5), "Command lines"): `%`
  # and `$` are doubled (specifiers, variables), and the argument is quoted
  # when it holds a blank, a quote, a backslash or a `;`, or is empty.
  execArg =
    s:
    let
      e = lib.replaceStrings [ "%" "$" ] [ "%%" "$$" ] s;
      plain = builtins.match "[^[:space:]\"'\\;]+" e != null;
    in
    if plain then
      e
    else
      "\"" + lib.replaceStrings [ "\\" "\"" "\n" "\t" ] [ "\\\\" "\\\"" "\\n" "\\t" ] e + "\"";
  execLine = args: lib.concatMapStringsSep " " execArg args;

  # A oneshot unit that runs one SQL statement as PostgreSQL's superuser,
  # over the local socket, once the server is up: what ensureUsers and
  # ensureDatabases cannot say (an owner, a grant).
  psqlAsPostgres =
    {
      description,
      pg,
      sql,
      hardening,
    }:
    {
      inherit description;
      after = [
        "postgresql.service"
        "postgresql-setup.service"
      ];
      requires = [ "postgresql.service" ];
      # Creates roles and databases in NixOS 25.05 and later.
      wants = [ "postgresql-setup.service" ];
      serviceConfig = hardening // {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = execLine [
          "${pg.package}/bin/psql"
          "-X"
          "-v"
          "ON_ERROR_STOP=1"
          "-h"
          "/run/postgresql"
          "-p"
          (toString pg.settings.port)
          "-d"
          "postgres"
          "-c"
          sql
        ];
        # Relaxed: the statement needs the superuser, which peer
        # authentication gives to the system user postgres only.
        DynamicUser = false;
        User = "postgres";
        Group = "postgres";
      };
    };
}
