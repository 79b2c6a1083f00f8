# VM test of services.sov.wf: heart (its modules and choices, no hardware
# file) with the queue in its PostgreSQL, and a worker running the example
# lead workflow (enrich, score, store in SQLite; examples/workflows) and a
# cron workflow; a peer on the test network stands for the mesh and calls the
# webhook. Executions come in through `sov-wf enqueue` and `sov-wf run`; the
# worker is killed and systemd brings it back. The flake's checks call it as
# vm-wf:
#
#   nix build .#checks.x86_64-linux.vm-wf -L
#
# `pkgs` is the flake's nixpkgs with the sov overlay (pkgs.sov).
{ pkgs }:
let
  inherit (pkgs) lib;

  store = "postgresql:///sov_wf?host=/run/postgresql";
  state = "/var/lib/sov-wf";
  leadDb = "${state}/customers.db";
  ticks = "${state}/ticks";
  # Outside the store, as the module insists; written at boot (tmpfiles).
  # The mesh peer signs with the same value (at least 16 bytes).
  secret = "/var/lib/secrets/wf-lead-webhook";
  secretValue = "5f0c3a9e7d21b4486ac0e2f19b73d55a";
  # The test framework numbers the nodes in name order on 192.168.1.0/24
  # (eth1): heart is .1, mesh .2. eth1 stands for the mesh interface.
  heartAddress = "192.168.1.1";
  port = 8470;

  # The example steps (examples/workflows/bin) and a cron step that notes
  # each tick, on the worker's PATH.
  steps = pkgs.runCommand "sov-wf-vm-steps" { } ''
    mkdir -p "$out/bin"
    cp ${../../examples/workflows/bin}/* "$out/bin/"
    cat >"$out/bin/wf-tick" <<'EOF'
    #!/bin/sh
    cat >/dev/null
    date -u +%Y-%m-%dT%H:%M:%SZ >>"$TICKS"
    echo '{"ticked": true}'
    EOF
    chmod +x "$out"/bin/*
  '';

  # The example lead, without the two steps that need the world (a chat
  # server for notify, a model server for draft).
  example = lib.importJSON ../../examples/workflows/lead.json;
  lead = example // {
    steps = removeAttrs example.steps [
      "notify"
      "draft"
    ];
    measure.human_minutes = 12;
  };
  tick = {
    name = "tick";
    version = 1;
    triggers = [ { cron = "* * * * *"; } ];
    steps.tick = {
      run = [ "wf-tick" ];
      timeout = "10s";
    };
  };
in
pkgs.testers.runNixOSTest {
  name = "sov-vm-wf";

  nodes.heart =
    { pkgs, ... }:
    {
      imports = [ (import ./vm-node.nix { name = "heart"; }) ];

      environment.systemPackages = [
        pkgs.sqlite
        pkgs.jq
        pkgs.curl
        steps
      ];

      services.postgresql = {
        enable = true;
        # The test script works as root: a superuser role of that name
        # (peer authentication) reads the queue's database.
        ensureUsers = [
          {
            name = "root";
            ensureClauses.superuser = true;
          }
        ];
      };

      systemd.tmpfiles.rules = [
        "d /var/lib/secrets 0700 root root -"
        "f ${secret} 0400 root root - ${secretValue}"
      ];

      services.sov.wf = {
        enable = true;
        inherit store;
        workflows = { inherit lead tick; };
        credentials.lead-webhook = secret;
        path = [
          pkgs.jq
          pkgs.sqlite
          steps
        ];
        environment = {
          LEAD_DB = leadDb;
          TICKS = ticks;
        };
        threads = 2;
        lease = "10s";
        webhook = {
          enable = true;
          address = heartAddress;
          inherit port;
          interface = "eth1";
        };
      };
    };

  nodes.mesh =
    { pkgs, ... }:
    {
      environment.systemPackages = [
        pkgs.curl
        pkgs.openssl
      ];
    };

  testScript = ''
    import json
    import shlex

    # sov-wf as the worker's user, on the worker's queue and definitions
    # (the module sets the same two variables for login shells).
    wf_env = "env " + " ".join(
        shlex.quote(v)
        for v in [
            "SOV_WF_STORE=${store}",
            "SOV_WF_WORKFLOWS=/etc/sov-wf/workflows",
            "LEAD_DB=${leadDb}",
            "TICKS=${ticks}",
        ]
    )


    def wf(args: str, stdin: str = "") -> str:
        cmd = f"runuser -u sov-wf -- {wf_env} /run/current-system/sw/bin/sov-wf {args}"
        if stdin:
            cmd = f"printf '%s\\n' {shlex.quote(stdin)} | {cmd}"
        return heart.succeed(cmd)


    def customer(email: str, column: str) -> str:
        """The shell command printing a customer's column; read-only, so
        that root never creates the database the steps write."""
        sql = shlex.quote(f"SELECT {column} FROM customers WHERE email = '{email}'")
        return f"sqlite3 -readonly ${leadDb} {sql}"


    def stored(email: str) -> str:
        return f"test -e ${leadDb} && test -n \"$({customer(email, 'id')})\""


    def score_of(email: str) -> str:
        return heart.succeed(customer(email, "score")).strip()


    def hook(body: str, signed: bool = True, secret: str = "${secretValue}") -> str:
        """POST body to the lead webhook from the mesh peer, signed as the
        worker checks it: HMAC-SHA256(secret, TIMESTAMP "." BODY); the
        HTTP status."""
        headers = ""
        if signed:
            headers = (
                "ts=$(date +%s); "
                f"sig=$(printf '%s.%s' \"$ts\" {shlex.quote(body)}"
                f" | openssl dgst -sha256 -hmac {shlex.quote(secret)} -r | cut -d' ' -f1); "
            )
        curl = (
            "curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST"
            " -H 'Content-Type: application/json'"
        )
        if signed:
            curl += " -H \"X-Sov-Timestamp: $ts\" -H \"X-Sov-Signature: sha256=$sig\""
        cmd = f"{headers}{curl} --data {shlex.quote(body)} http://${heartAddress}:${toString port}/hooks/lead"
        return mesh.succeed(cmd).strip()


    def main_pid() -> int:
        return int(heart.succeed("systemctl show -P MainPID sov-wf-worker.service").strip())


    start_all()
    heart.wait_for_unit("multi-user.target")
    heart.wait_for_unit("postgresql.service")

    with subtest("the worker runs as sov-wf on its own database"):
        heart.wait_for_unit("sov-wf-pg-owner.service")
        heart.wait_for_unit("sov-wf-worker.service")
        assert heart.succeed("systemctl show -P User sov-wf-worker.service").strip() == "sov-wf"
        owner = heart.succeed(
            "psql -X -At -d postgres"
            " -c \"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'sov_wf'\""
        ).strip()
        assert owner == "sov-wf", f"sov_wf is owned by {owner!r}"
        # The worker creates its schema as the owner.
        heart.wait_until_succeeds(
            "test \"$(psql -X -At -d sov_wf"
            " -c \"SELECT count(*) FROM pg_tables WHERE tableowner = 'sov-wf'\")\" -gt 0"
        )

    with subtest("the definitions were validated when built and are linked in /etc"):
        heart.succeed(
            "test -e /etc/sov-wf/workflows/lead.json",
            "test -e /etc/sov-wf/workflows/tick.json",
            "sov-wf validate /etc/sov-wf/workflows",
        )
        got = json.loads(heart.succeed("cat /etc/sov-wf/workflows/lead.json"))
        assert sorted(got["steps"]) == ["enrich", "score", "store"], got["steps"]

    with subtest("the webhook secret reaches the worker only as a credential"):
        unit = heart.succeed("systemctl cat sov-wf-worker.service")
        assert "LoadCredential=lead-webhook:${secret}" in unit, unit
        assert "${secretValue}" not in unit, "the secret is in the unit file"
        env = heart.succeed("systemctl show -P Environment sov-wf-worker.service")
        assert "${secretValue}" not in env and "${secret}" not in env, env

    with subtest("enqueue: a lead is enriched, scored and stored by the worker"):
        wf(
            "enqueue lead",
            '{"email": "ada@acme.example", "name": "Ada", "title": "CEO", "phone": "+1 555 0100",'
            ' "message": "We would like a quote for forty seats, starting next month."}',
        )
        heart.wait_until_succeeds(stored("ada@acme.example"))
        assert score_of("ada@acme.example") == "100", score_of("ada@acme.example")

    with subtest("run: an execution started and waited for"):
        wf("run lead --input " + shlex.quote('{"email": "bob@gmail.com", "name": "Bob"}'))
        assert score_of("bob@gmail.com") == "0", score_of("bob@gmail.com")

    with subtest("the webhook listens on the mesh address only and takes signed POSTs from the mesh"):
        heart.wait_for_open_port(${toString port}, "${heartAddress}")
        heart.fail("curl -s -m 5 -o /dev/null http://127.0.0.1:${toString port}/hooks/lead")
        mesh.wait_for_unit("multi-user.target")
        assert hook('{"email": "eve@evil.example"}', signed=False) == "401"
        assert hook('{"email": "eve@evil.example"}', secret="not-the-secret-0123456789") == "401"
        assert hook('{"email": "dee@hooks.example", "name": "Dee"}') == "202"
        heart.wait_until_succeeds(stored("dee@hooks.example"))
        heart.fail(stored("eve@evil.example"))

    with subtest("the cron trigger fires"):
        heart.wait_until_succeeds("test -s ${ticks}", timeout=180)

    with subtest("a killed worker is restarted by systemd and goes on working"):
        before = main_pid()
        heart.succeed("systemctl kill --signal=SIGKILL sov-wf-worker.service")
        heart.wait_until_succeeds(
            f"test \"$(systemctl show -P MainPID sov-wf-worker.service)\" -ne 0"
            f" && test \"$(systemctl show -P MainPID sov-wf-worker.service)\" -ne {before}"
        )
        heart.wait_for_unit("sov-wf-worker.service")
        assert int(heart.succeed("systemctl show -P NRestarts sov-wf-worker.service")) >= 1
        wf("enqueue lead", '{"email": "cy@example.org", "name": "Cy"}')
        heart.wait_until_succeeds(stored("cy@example.org"))

    with subtest("SIGTERM: the worker stops cleanly, within its lease"):
        heart.succeed("systemctl stop sov-wf-worker.service")
        status = heart.succeed("systemctl show -P ExecMainStatus sov-wf-worker.service").strip()
        result = heart.succeed("systemctl show -P Result sov-wf-worker.service").strip()
        assert status == "0" and result == "success", f"exit status {status}, result {result}"
        heart.succeed("systemctl start sov-wf-worker.service")
        heart.wait_for_unit("sov-wf-worker.service")
  '';
}
