# VM test of services.sov.cert: the gateway (its modules and choices, no
# hardware file) with nginx serving one TLS site, and a node running pebble,
# Let's Encrypt's test CA, with pebble-challtestsrv as its DNS (every name is
# the gateway), whose validation really fetches the http-01
# answer from the gateway's port 80 (nginx redirects it, forceSSL, to 443,
# where the challenge webroot is served). The gateway boots before pebble:
# nginx must start on the self-signed placeholder. Then the certificate is
# issued, nginx is reloaded onto it, the key is readable by nginx's group
# only, and a second run with nothing due changes nothing. The flake's
# checks call it as vm-cert:
#
#   nix build .#checks.x86_64-linux.vm-cert -L
#
# `pkgs` is the flake's nixpkgs with the sov overlay (pkgs.sov).
{ pkgs }:
let
  # The test framework numbers the nodes in name order on 192.168.1.0/24
  # (eth1): gateway is .1, pebble .2.
  gatewayAddress = "192.168.1.1";
  site = "shop.example.test";
  certDir = "/var/lib/sov-cert/certs/shop";

  # pebble's own TLS certificate (its ACME listener), made at build time;
  # the gateway trusts it through services.sov.cert.caFile. Test only.
  pebbleTls = pkgs.runCommand "sov-vm-cert-pebble-tls" { nativeBuildInputs = [ pkgs.openssl ]; } ''
    mkdir "$out"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -nodes -days 3650 -subj /CN=pebble -addext subjectAltName=DNS:pebble \
      -keyout "$out/key.pem" -out "$out/cert.pem"
  '';
  pebbleConfig = pkgs.writeText "pebble.json" (
    builtins.toJSON {
      pebble = {
        listenAddress = "0.0.0.0:14000";
        managementListenAddress = "0.0.0.0:15000";
        certificate = "${pebbleTls}/cert.pem";
        privateKey = "${pebbleTls}/key.pem";
        httpPort = 80;
        tlsPort = 443;
        ocspResponderURL = "";
        externalAccountBindingRequired = false;
      };
    }
  );
in
pkgs.testers.runNixOSTest {
  name = "sov-vm-cert";

  nodes.gateway =
    { pkgs, ... }:
    {
      imports = [ (import ./vm-node.nix { name = "gateway"; }) ];

      environment.systemPackages = [
        pkgs.curl
        pkgs.openssl
      ];

      services.nginx = {
        enable = true;
        virtualHosts.shop = {
          serverName = site;
          forceSSL = true;
          locations."/".extraConfig = ''
            default_type text/plain;
            return 200 "shop ok\n";
          '';
        };
      };

      services.sov.cert = {
        server = "https://pebble:14000/dir";
        caFile = "${pebbleTls}/cert.pem";
        email = "ops@shop.example.test";
        certs.shop = {
          domains = [ site ];
          nginxVirtualHosts = [ "shop" ];
        };
      };
    };

  nodes.pebble =
    { pkgs, ... }:
    {
      environment.systemPackages = [
        pkgs.curl
        pkgs.openssl
      ];
      # curl here finds the site through /etc/hosts; pebble's validation
      # asks challtestsrv, which answers every A query with the gateway's
      # address (as tests/cert/pebble.sh runs them, with 127.0.0.1).
      networking.hosts.${gatewayAddress} = [ site ];
      networking.firewall.allowedTCPPorts = [
        14000
        15000
      ];
      systemd.services.challtestsrv = {
        description = "pebble-challtestsrv: the test CA's DNS";
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          ExecStart = "${pkgs.pebble}/bin/pebble-challtestsrv -dns01 127.0.0.1:8053 -http01 '' -https01 '' -tlsalpn01 '' -management 127.0.0.1:8055 -defaultIPv6 '' -defaultIPv4 ${gatewayAddress}";
          DynamicUser = true;
        };
      };
      systemd.services.pebble = {
        description = "pebble, the ACME test CA";
        wantedBy = [ "multi-user.target" ];
        after = [
          "network-online.target"
          "challtestsrv.service"
        ];
        wants = [ "network-online.target" ];
        requires = [ "challtestsrv.service" ];
        environment = {
          PEBBLE_VA_NOSLEEP = "1";
          PEBBLE_WFE_NONCEREJECT = "0";
        };
        serviceConfig = {
          ExecStart = "${pkgs.pebble}/bin/pebble -config ${pebbleConfig} -dnsserver 127.0.0.1:8053";
          DynamicUser = true;
        };
      };
    };

  testScript = ''
    gateway.start()
    gateway.wait_for_unit("multi-user.target")

    with subtest("nginx starts on the placeholder before any issuance"):
        gateway.wait_for_unit("nginx.service")
        gateway.succeed("test -f ${certDir}/fullchain.pem")
        gateway.fail("test -e ${certDir}/meta.json")
        gateway.succeed(
            "openssl x509 -noout -subject -in ${certDir}/cert.pem | grep -q 'sov-cert placeholder'"
        )
        gateway.succeed(
            "curl -sk --resolve ${site}:443:127.0.0.1 https://${site}/ | grep -q 'shop ok'"
        )

    pebble.start()
    pebble.wait_for_unit("pebble.service")
    pebble.wait_for_open_port(14000)
    pebble.succeed("curl -sk https://127.0.0.1:15000/roots/0 >/tmp/root.pem")

    with subtest("sov-cert issues through pebble, validated over port 80"):
        # The run at boot, while pebble was down, must be over first (a
        # start would join it and share its failure).
        gateway.wait_until_succeeds(
            "test \"$(systemctl show -p ActiveState --value sov-cert.service)\" != activating",
            timeout=600,
        )
        gateway.succeed("systemctl start sov-cert.service")
        gateway.succeed("test -f ${certDir}/meta.json")
        gateway.succeed(
            "openssl x509 -noout -issuer -in ${certDir}/cert.pem | grep -q Pebble"
        )
        gateway.succeed("journalctl -u sov-cert.service | grep -q '\"action\":\"issued\"'")

    with subtest("the key is the group's to read, nobody else's"):
        gateway.succeed("test \"$(stat -c %a:%U:%G ${certDir}/key.pem)\" = 640:sov-cert:sov-cert")
        gateway.succeed("test \"$(stat -c %a /var/lib/sov-cert/account)\" = 700")

    with subtest("nginx was reloaded onto the issued certificate"):
        # ExecStopPost (the reload) runs once the sync has exited.
        gateway.wait_until_fails("test -e /var/lib/sov-cert/deployed", timeout=30)
        pebble.wait_until_succeeds(
            "curl -sf --cacert /tmp/root.pem https://${site}/ | grep -q 'shop ok'",
            timeout=30,
        )
        pebble.succeed(
            "echo | openssl s_client -connect ${site}:443 -servername ${site} 2>/dev/null"
            " | openssl x509 -noout -issuer | grep -q Pebble"
        )

    with subtest("a second run with nothing due changes nothing"):
        serial = gateway.succeed("openssl x509 -noout -serial -in ${certDir}/cert.pem")
        gateway.succeed("systemctl start sov-cert.service")
        gateway.succeed("journalctl -u sov-cert.service | grep -q '\"action\":\"skipped\"'")
        assert serial == gateway.succeed("openssl x509 -noout -serial -in ${certDir}/cert.pem")

    with subtest("the timer is armed"):
        gateway.succeed("systemctl is-active sov-cert.timer")
  '';
}
