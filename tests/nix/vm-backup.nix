# VM test of services.sov.backup: heart (its modules and choices, no
# hardware file) with PostgreSQL and one job backing up a directory, an
# SQLite file and a database into a local repository; the service runs as
# systemd starts it, then everything is restored and compared. The flake's
# checks call it as vm-backup:
#
#   nix build .#checks.x86_64-linux.vm-backup -L
#
# `pkgs` is the flake's nixpkgs with the sov overlay (pkgs.sov).
{ pkgs }:
let
  repo = "/var/lib/backup-repo";
  # Outside the store, as the module insists; written by the test script.
  password = "/var/lib/secrets/sov-backup-password";
in
pkgs.testers.runNixOSTest {
  name = "sov-vm-backup";

  nodes.heart =
    { pkgs, ... }:
    {
      imports = [ (import ./vm-node.nix { name = "heart"; }) ];

      environment.systemPackages = [
        pkgs.sqlite
        pkgs.jq
      ];

      services.postgresql = {
        enable = true;
        ensureDatabases = [ "shop" ];
        # The test script works as root: a superuser role of that name
        # (peer authentication) fills, restores and compares the databases.
        ensureUsers = [
          {
            name = "root";
            ensureClauses.superuser = true;
          }
        ];
      };

      services.sov.backup.jobs.nightly = {
        paths = [ "/srv/files" ];
        exclude = [ "*.tmp" ];
        sqlite = [ "/var/lib/app/app.db" ];
        postgresql.databases = [ "shop" ];
        repository = repo;
        passwordFile = password;
        initialize = true;
        tags = [ "vm" ];
        retention.last = 2;
      };
    };

  testScript = ''
    opts = "--repo ${repo} --password-file ${password}"


    def snapshot_count() -> int:
        out = heart.succeed(
            f"sov-backup snapshots {opts}"
            " | jq -s 'map(select(.event == \"snapshot\")) | length'"
        )
        return int(out.strip())


    def rows(db: str) -> str:
        return heart.succeed(f"psql -X -At -d {db} -c 'SELECT id, qty FROM orders ORDER BY id'")


    start_all()
    heart.wait_for_unit("multi-user.target")
    heart.wait_for_unit("postgresql.service")

    with subtest("the timers are set; the repository directory is there, empty"):
        heart.succeed("systemctl is-active sov-backup-nightly.timer")
        heart.succeed("systemctl is-active sov-backup-nightly-check.timer")
        heart.succeed("test -d ${repo}", "test ! -e ${repo}/config")

    with subtest("sources: a directory, an SQLite file, a database; the password file"):
        heart.succeed(
            "mkdir -p /srv/files/sub /var/lib/app ${dirOf password}",
            "echo hello > /srv/files/hello.txt",
            "head -c 3000000 /dev/urandom > /srv/files/sub/random.bin",
            # Root's alone: the backup reads it through CAP_DAC_READ_SEARCH.
            "echo private > /srv/files/private.txt",
            "chmod 600 /srv/files/private.txt",
            "echo scratch > /srv/files/scratch.tmp",
            "sqlite3 /var/lib/app/app.db 'CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3);'",
            "chmod 600 /var/lib/app/app.db",
            "install -m 600 /dev/null ${password}",
            "echo correct-horse-battery-staple > ${password}",
        )
        heart.wait_until_succeeds("psql -X -d shop -c 'SELECT 1'")
        heart.succeed(
            "psql -X -v ON_ERROR_STOP=1 -d shop -c 'CREATE TABLE orders(id int PRIMARY KEY, qty int)'",
            "psql -X -v ON_ERROR_STOP=1 -d shop"
            " -c 'INSERT INTO orders SELECT g, g * 7 FROM generate_series(1, 1000) g'",
        )

    with subtest("the service creates the repository as sov-backup and backs up"):
        heart.succeed("systemctl start sov-backup-nightly.service")
        heart.succeed("test \"$(stat -c %U ${repo}/config)\" = sov-backup")
        assert snapshot_count() == 1, "one backup, not one snapshot"

    with subtest("the password reaches the service only as a credential"):
        unit = heart.succeed("systemctl cat sov-backup-nightly.service")
        assert "LoadCredential=password:${password}" in unit, unit
        assert "correct-horse" not in unit, "the password is in the unit file"
        env = heart.succeed("systemctl show -p Environment sov-backup-nightly.service")
        assert "correct-horse" not in env and "${password}" not in env, env

    with subtest("the check reads back a sample"):
        heart.succeed("systemctl start sov-backup-nightly-check.service")

    with subtest("retention keeps the last two snapshots"):
        heart.succeed("echo changed >> /srv/files/hello.txt")
        heart.succeed("systemctl start sov-backup-nightly.service")
        heart.succeed("echo changed again >> /srv/files/hello.txt")
        heart.succeed("systemctl start sov-backup-nightly.service")
        assert snapshot_count() == 2, "forget --keep-last 2 did not leave two snapshots"

    with subtest("the files come back identical, the excluded one left out"):
        heart.succeed(f"sov-backup restore {opts} latest --target /restore")
        heart.succeed(
            "diff -r --exclude='*.tmp' /srv/files /restore/srv/files",
            "test ! -e /restore/srv/files/scratch.tmp",
            "test \"$(stat -c %a /restore/srv/files/private.txt)\" = 600",
        )

    with subtest("the SQLite database comes back identical"):
        heart.succeed(
            f"sov-backup restore {opts} latest --include /var/lib/app/app.db"
            " --sqlite-target /var/lib/app/restored.db"
        )
        want = heart.succeed("sqlite3 /var/lib/app/app.db 'SELECT x FROM t ORDER BY x'")
        got = heart.succeed("sqlite3 /var/lib/app/restored.db 'SELECT x FROM t ORDER BY x'")
        assert got == want, f"SQLite: restored {got!r}, want {want!r}"

    with subtest("the PostgreSQL database comes back identical in a fresh database"):
        heart.succeed("psql -X -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE shop_restored'")
        heart.succeed(
            f"sov-backup restore {opts} latest --include /postgresql/shop.pgdump"
            " --postgres-target 'postgresql:///shop_restored?host=/run/postgresql'"
        )
        want = rows("shop")
        got = rows("shop_restored")
        assert len(want.splitlines()) == 1000, f"the source has {len(want.splitlines())} rows"
        assert got == want, "PostgreSQL: the restored table differs from the source"
  '';
}
