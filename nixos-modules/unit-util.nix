# Helpers the sov modules share to write their systemd units. Not a module:
# `util = import ./unit-util.nix { inherit lib; };`
{ lib }:
rec {
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
