# VM test of services.sov.probe: heart (its modules and choices, no hardware
# file) runs sov-probe with the profile's disk target of / and an http
# target against a local nginx site; measurements go to an SQLite store.
# The site goes down (nginx stopped), and the change shows in the journal
# (a probe.state record) and in the state file; it comes back up. The
# status page is served on the mesh address (eth1 stands for the mesh) and
# fetched from a peer; a reload (SIGHUP) keeps the daemon and its state.
# The flake's checks call it as vm-probe:
#
#   nix build .#checks.x86_64-linux.vm-probe -L
#
# `pkgs` is the flake's nixpkgs with the sov overlay (pkgs.sov).
{ pkgs }:
let
  # The test framework numbers the nodes in name order on 192.168.1.0/24
  # (eth1): heart is .1, mesh .2.
  heartAddress = "192.168.1.1";
  pagePort = 8471;
  sitePort = 8080;
  state = "/var/lib/sov-probe/state.json";
  metricsDb = "/var/lib/sov-probe/measurements.sqlite";
in
pkgs.testers.runNixOSTest {
  name = "sov-vm-probe";

  nodes.heart =
    { pkgs, ... }:
    {
      imports = [ (import ./vm-node.nix { name = "heart"; }) ];

      environment.systemPackages = [
        pkgs.jq
        pkgs.curl
        pkgs.sqlite
      ];

      # heart on the mesh: the profile serves the status page there.
      sov.mesh = {
        address = heartAddress;
        interface = "eth1";
      };

      # The site the http target watches, on loopback; nginx also serves
      # the page (on the mesh address), so stopping it takes both down.
      services.nginx = {
        enable = true;
        virtualHosts.shop = {
          listen = [
            {
              addr = "127.0.0.1";
              port = sitePort;
            }
          ];
          locations."/".extraConfig = ''
            default_type text/plain;
            return 200 "shop ok\n";
          '';
        };
      };

      services.sov.probe = {
        metrics = "sqlite:${metricsDb}";
        page.every = "2s";
        targets = {
          # The profile's disk-root, probed more often here.
          disk-root.interval = "2s";
          web = {
            type = "http";
            url = "http://127.0.0.1:${toString sitePort}/";
            status = [ 200 ];
            contains = "shop ok";
            interval = "1s";
            timeout = "2s";
            failures = 2;
          };
        };
      };
    };

  nodes.mesh =
    { pkgs, ... }:
    {
      environment.systemPackages = [ pkgs.curl ];
    };

  testScript = ''
    import json


    def wait_state(target: str, want: str) -> None:
        """Until the daemon's state file says the target is `want`."""
        heart.wait_until_succeeds(
            f"test \"$(jq -r --arg t {target} '.targets[$t].state' ${state})\" = {want}",
            timeout=60,
        )


    def events_cmd(target: str, to: str) -> str:
        """The shell command printing the target's probe.state records to
        `to` in the journal (stdout of the unit: JSON lines among the text
        of stderr)."""
        return (
            "journalctl -u sov-probe.service -o cat"
            f" | jq -R -c --arg t {target} --arg to {to}"
            " 'fromjson? | select(.event == \"probe.state\" and .target == $t and .to == $to)'"
        )


    def events(target: str, to: str) -> int:
        out = heart.succeed(events_cmd(target, to))
        return len([line for line in out.splitlines() if line.strip()])


    def main_pid() -> int:
        return int(heart.succeed("systemctl show -P MainPID sov-probe.service").strip())


    start_all()
    heart.wait_for_unit("multi-user.target")
    heart.wait_for_unit("nginx.service")

    with subtest("the daemon runs as sov-probe, without capabilities"):
        heart.wait_for_unit("sov-probe.service")
        assert heart.succeed("systemctl show -P User sov-probe.service").strip() == "sov-probe"
        status = heart.succeed(f"cat /proc/{main_pid()}/status")
        caps = {
            line.split(":")[0]: line.split(":")[1].strip()
            for line in status.splitlines()
            if line.startswith("Cap")
        }
        assert caps["CapEff"] == "0000000000000000", caps
        assert caps["CapAmb"] == "0000000000000000", caps

    with subtest("the targets were validated when built and are linked in /etc"):
        heart.succeed("sov-probe validate /etc/sov-probe/targets.json")
        got = json.loads(heart.succeed("cat /etc/sov-probe/targets.json"))
        assert sorted(got["targets"]) == ["disk-root", "web"], got["targets"]

    with subtest("the disk and the site are up; measurements are written"):
        wait_state("disk-root", "up")
        wait_state("web", "up")
        heart.wait_until_succeeds(
            "test \"$(sqlite3 -readonly ${metricsDb}"
            " \"SELECT count(*) FROM measurements WHERE name = 'probe.up'\")\" -gt 0",
            timeout=60,
        )

    with subtest("the page is served on the mesh address only"):
        heart.wait_until_succeeds("test -s /var/lib/sov-probe/page/index.html")
        mesh.wait_for_unit("multi-user.target")
        mesh.wait_until_succeeds(
            "curl -sf -m 5 http://${heartAddress}:${toString pagePort}/ | grep -q disk-root",
            timeout=60,
        )
        heart.fail("curl -sf -m 5 http://127.0.0.1:${toString pagePort}/")

    with subtest("the site goes down: a probe.state record in the journal, down in the state file"):
        assert events("web", "down") == 0
        # The first result decides from "unknown": that may be a record too.
        ups = events("web", "up")
        heart.succeed("systemctl stop nginx.service")
        wait_state("web", "down")
        heart.wait_until_succeeds(f"{events_cmd('web', 'down')} | grep -q web")
        assert events("web", "down") == 1, events("web", "down")
        reason = heart.succeed("jq -r '.targets.web.last.error' ${state}").strip()
        assert reason not in ("", "null"), reason
        wait_state("disk-root", "up")

    with subtest("the site comes back: up again, recorded"):
        heart.succeed("systemctl start nginx.service")
        wait_state("web", "up")
        heart.wait_until_succeeds(f"test \"$({events_cmd('web', 'up')} | wc -l)\" -gt {ups}")
        mesh.wait_until_succeeds(
            "curl -sf -m 5 http://${heartAddress}:${toString pagePort}/ | grep -q web"
        )

    with subtest("a reload (SIGHUP) keeps the daemon and its state"):
        before = main_pid()
        heart.succeed("systemctl reload sov-probe.service")
        heart.sleep(3)
        assert main_pid() == before, f"{before} became {main_pid()}"
        heart.wait_for_unit("sov-probe.service")
        wait_state("web", "up")
        assert events("web", "down") == 1, events("web", "down")

    with subtest("SIGTERM: the daemon stops cleanly and the state file stays readable"):
        heart.succeed("systemctl stop sov-probe.service")
        status = heart.succeed("systemctl show -P ExecMainStatus sov-probe.service").strip()
        result = heart.succeed("systemctl show -P Result sov-probe.service").strip()
        assert status == "0" and result == "success", f"exit status {status}, result {result}"
        heart.succeed("jq -e '.targets.web' ${state}")
  '';
}
