# The evaluation cases of services.sov.cert (nixos-modules/cert.nix), on
# the gateway, which turns it on. Joins the group "modules";
# tests/nix/cases.nix passes its helpers in. Expected values are written
# out here, never read from the module under test.
{
  lib,
  hosts,
  case,
  show,
  extend,
  failedAssertions,
  someFailedMentions,
  kept,
}:
let
  inherit (lib) hasInfix hasPrefix;

  gw = hosts.gateway.config;
  unitOf = cfg: cfg.systemd.services.sov-cert or { };
  scOf = cfg: (unitOf cfg).serviceConfig or { };
  prepOf = cfg: cfg.systemd.services.sov-cert-prepare or { };
  defsOf = cfg: builtins.fromJSON cfg.services.sov.cert.definitionsFile.json;
  sovFailed = cfg: lib.filter (hasInfix "sov:") (failedAssertions cfg);
  capsOf = cfg: {
    inherit (scOf cfg) CapabilityBoundingSet AmbientCapabilities PrivateUsers;
  };
  noCaps = {
    CapabilityBoundingSet = "";
    AmbientCapabilities = "";
    PrivateUsers = true;
  };
  bin = "${gw.services.sov.cert.package}/bin/sov-cert";
  isStore = s: builtins.isString s && hasPrefix "/nix/store/" s;

  # The gateway with these certificates (and more modules).
  withCerts =
    certs: modules:
    extend "gateway" ([ { services.sov.cert.certs = certs; } ] ++ modules);

  shopVhost = {
    services.nginx.enable = true;
    services.nginx.virtualHosts.shop = {
      forceSSL = true;
      locations."/".proxyPass = "http://10.77.0.1:8080";
    };
  };
  shop = {
    domains = [
      "shop.example.org"
      "www.shop.example.org"
    ];
    nginxVirtualHosts = [ "shop" ];
    reloadServices = [ "postfix.service" ];
    preferredChain = "ISRG Root X1";
    keyType = "ec384";
  };
  web = withCerts { inherit shop; } [ shopVhost ];
  webDefs = defsOf web;
  vhost = web.services.nginx.virtualHosts.shop;
  scriptsOf = cfg: cfg.services.sov.cert.scripts;

  standalone = addr: withCerts { api.standalone = addr; } [ ];
  low = standalone ":80";
  high = standalone "127.0.0.1:5002";
  lowOnNginx = withCerts { api.standalone = ":80"; } [ shopVhost ];

  wild = withCerts {
    wild = {
      domains = [ "*.example.org" ];
      challenge = "dns-01";
      dnsHookFile = "/etc/sov-cert/dns-hook";
    };
  } [ ];
  wildHttp = withCerts { wild.domains = [ "*.example.org" ]; } [ ];
  dnsNoHook = withCerts { d.challenge = "dns-01"; } [ ];
  noTerms = extend "gateway" [
    {
      services.sov.cert.acceptTerms = lib.mkForce false;
      services.sov.cert.certs.a = { };
    }
  ];
  plainVhost = withCerts { shop.nginxVirtualHosts = [ "shop" ]; } [
    {
      services.nginx.enable = true;
      services.nginx.virtualHosts.shop.locations."/".proxyPass = "http://x";
    }
  ];
  noNginx = withCerts { shop.nginxVirtualHosts = [ "shop" ]; } [ ];
  relativeHook = withCerts { a.deployHooks = [ "reload-it" ]; } [ ];
  badName = withCerts { ".hidden" = { }; } [ ];

  eabFile = "/run/keys/acme-eab";
  eab = extend "gateway" [
    {
      services.sov.cert = {
        server = "https://acme.example.net/directory";
        caFile = "/etc/ssl/private-ca.pem";
        eab = {
          kid = "kid-1";
          hmacFile = eabFile;
        };
        certs.a = { };
      };
    }
  ];
  eabStore = extend "gateway" [
    {
      services.sov.cert.eab = {
        kid = "kid-1";
        hmacFile = "/nix/store/00000000000000000000000000000000-eab";
      };
    }
  ];
  eabHalf = extend "gateway" [ { services.sov.cert.eab.kid = "kid-1"; } ];

  measured = extend "gateway" [ { services.sov.cert.metrics = "sqlite:/var/lib/sov/measurements.sqlite"; } ];
  metricsPassword = extend "gateway" [
    { services.sov.cert.metrics = "postgresql://sov:hunter2@db.example/metrics"; }
  ];

  relaxed = [
    "DynamicUser"
    "UMask"
  ];
in
[
  (case "cert: the gateway runs sov-cert sync on its definitions (checked when built), as the user sov-cert" (
    (scOf gw).ExecStart or null == "${bin} sync --config ${toString gw.services.sov.cert.definitionsFile}"
    && isStore (toString gw.services.sov.cert.definitionsFile)
    && hasInfix "sov-cert sync --check --config \"$jsonPath\"" gw.services.sov.cert.definitionsFile.buildCommand
    && lib.elem "sov" (map (p: p.pname or p.name) gw.services.sov.cert.definitionsFile.nativeBuildInputs)
    && (scOf gw).Type == "oneshot"
    && (scOf gw).User == "sov-cert"
    && (scOf gw).StateDirectory == "sov-cert"
    && (scOf gw).StateDirectoryMode == "0710"
    && gw.users.users ? sov-cert
    && gw.users.groups ? sov-cert
    && !(hosts.heart.config.systemd.services ? sov-cert)
  ) "serviceConfig ${show (scOf gw)}")
  (case "cert: a daily persistent timer with a random delay; also run at boot" (
    gw.systemd.timers.sov-cert.timerConfig == {
      OnCalendar = "daily";
      Persistent = true;
      RandomizedDelaySec = "1h";
    }
    && lib.elem "multi-user.target" (unitOf gw).wantedBy
    && lib.elem "network-online.target" (unitOf gw).after
    && lib.elem "sov-cert-prepare.service" (unitOf gw).requires
  ) "timer ${show gw.systemd.timers.sov-cert}, wantedBy ${show (unitOf gw).wantedBy}")
  (case "cert: hardened as every sov service, relaxing only DynamicUser and UMask" (
    kept relaxed (scOf gw) == [ ]
    && kept relaxed (prepOf gw).serviceConfig == [ ]
    && (scOf gw).UMask == "0027"
    && (scOf gw).DynamicUser == false
  ) "changed: ${show (kept relaxed (scOf gw))}, prepare: ${show (kept relaxed (prepOf gw).serviceConfig)}")
  (case "cert: no certificates, no account needed and no capability" (
    sovFailed gw == [ ] && capsOf gw == noCaps && (defsOf gw).certs == { }
  ) "failing ${show (sovFailed gw)}, caps ${show (capsOf gw)}")
  (case "cert: the definitions carry the CA, the account and each certificate's options" (
    webDefs.server == "https://acme-v02.api.letsencrypt.org/directory"
    && webDefs.account == { agree_tos = true; }
    && removeAttrs webDefs.certs.shop [ "deploy_hook" ] == {
      domains = [
        "shop.example.org"
        "www.shop.example.org"
      ];
      challenge = "http-01";
      key_type = "ec384";
      webroot = "/var/lib/sov-cert/webroot";
      preferred_chain = "ISRG Root X1";
    }
    && isStore webDefs.certs.shop.deploy_hook
    && hasInfix "sov-cert-deploy-shop" webDefs.certs.shop.deploy_hook
    && sovFailed web == [ ]
  ) "definitions ${show webDefs}, failing ${show (sovFailed web)}")
  (case "cert: an nginx virtual host gets the certificate, the key and the challenge webroot" (
    vhost.sslCertificate == "/var/lib/sov-cert/certs/shop/fullchain.pem"
    && vhost.sslCertificateKey == "/var/lib/sov-cert/certs/shop/key.pem"
    && vhost.locations."/.well-known/acme-challenge/".root == "/var/lib/sov-cert/webroot"
    && vhost.locations."/".proxyPass == "http://10.77.0.1:8080"
    && lib.elem "sov-cert" web.users.users.nginx.extraGroups
    && lib.elem "nginx.service" (unitOf web).after
  ) "vhost ${show { inherit (vhost) sslCertificate sslCertificateKey locations; }}")
  (case "cert: placeholders are made before nginx starts, for the certificate's names" (
    lib.elem "nginx.service" (prepOf web).before
    && lib.elem "nginx.service" (prepOf web).requiredBy
    && (prepOf web).serviceConfig.RemainAfterExit
    && (prepOf web).serviceConfig.ExecStart == toString (scriptsOf web).prepare
    && hasInfix "'subjectAltName=DNS:shop.example.org,DNS:www.shop.example.org'" (scriptsOf web).prepare.text
    && hasInfix "/var/lib/sov-cert/certs/shop" (scriptsOf web).prepare.text
    && !(hasInfix "openssl" (scriptsOf gw).prepare.text)
    && !((prepOf gw) ? before && lib.elem "nginx.service" (prepOf gw).before)
  ) "prepare ${show (removeAttrs (prepOf web) [ "serviceConfig" ])}")
  (case "cert: after an install, its services are reloaded by a privileged ExecStopPost" (
    (scOf web).ExecStopPost == "+${toString (scriptsOf web).reload}"
    && hasInfix "\n  shop)\n" (scriptsOf web).reload.text
    && hasInfix "try-reload-or-restart postfix.service nginx.service" (scriptsOf web).reload.text
    && !(hasInfix "try-reload-or-restart" (scriptsOf gw).reload.text)
  ) "ExecStopPost ${show (scOf web).ExecStopPost or null}, script ${show (scriptsOf web).reload.text}")
  (case "cert: the responder on :80 gets CAP_NET_BIND_SERVICE only; on 5002 nothing" (
    capsOf low == {
      CapabilityBoundingSet = [ "CAP_NET_BIND_SERVICE" ];
      AmbientCapabilities = [ "CAP_NET_BIND_SERVICE" ];
      PrivateUsers = false;
    }
    && kept (relaxed ++ [ "CapabilityBoundingSet" "AmbientCapabilities" "PrivateUsers" ]) (scOf low) == [ ]
    && capsOf high == noCaps
    && (defsOf low).certs.api == {
      domains = [ "api" ];
      challenge = "http-01";
      key_type = "ec256";
      standalone = ":80";
      deploy_hook = (defsOf low).certs.api.deploy_hook;
    }
    && sovFailed low == [ ]
    && capsOf web == noCaps
  ) "low ${show (capsOf low)}, high ${show (capsOf high)}, defs ${show (defsOf low).certs.api}")
  (case "cert: the responder on :80 while nginx holds port 80 fails an assertion" (
    someFailedMentions lowOnNginx [
      "certs.api.standalone"
      "nginx"
    ]
  ) "failing ${show (failedAssertions lowOnNginx)}")
  (case "cert: a wildcard through a dns-01 hook; without dns-01 or a hook, assertions" (
    (defsOf wild).certs.wild.dns_hook == "/etc/sov-cert/dns-hook"
    && (defsOf wild).certs.wild.challenge == "dns-01"
    && !((defsOf wild).certs.wild ? webroot)
    && sovFailed wild == [ ]
    && someFailedMentions wildHttp [ "wildcard" ]
    && someFailedMentions dnsNoHook [ "dnsHookFile" ]
  ) "wild ${show (defsOf wild).certs.wild}, failing ${show (map sovFailed [ wildHttp dnsNoHook ])}")
  (case "cert: certificates without acceptTerms, a bad name, a relative hook fail assertions" (
    someFailedMentions noTerms [ "acceptTerms" ]
    && someFailedMentions badName [ "a certificate name" ]
    && someFailedMentions relativeHook [ "absolute paths" ]
  ) "failing ${show (map sovFailed [ noTerms badName relativeHook ])}")
  (case "cert: nginxVirtualHosts without nginx, or naming a host without TLS, fail assertions" (
    someFailedMentions noNginx [ "services.nginx.enable is false" ]
    && noNginx.services.nginx.virtualHosts == { }
    && !(noNginx.users.users ? nginx)
    && someFailedMentions plainVhost [
      "[\"shop\"]"
      "forceSSL"
    ]
  ) "failing ${show (map sovFailed [ noNginx plainVhost ])}")
  (case "cert: EAB's MAC key by LoadCredential only; its kid, the CA and its CA file in the definitions" (
    (scOf eab).LoadCredential == [ "eab-hmac:${eabFile}" ]
    && (defsOf eab).account == {
      agree_tos = true;
      eab_kid = "kid-1";
    }
    && (defsOf eab).server == "https://acme.example.net/directory"
    && (defsOf eab).ca_file == "/etc/ssl/private-ca.pem"
    && !(hasInfix eabFile (scOf eab).ExecStart)
    && !(hasInfix eabFile eab.services.sov.cert.definitionsFile.json)
    && sovFailed eab == [ ]
    && (scOf gw).LoadCredential == [ ]
  ) "LoadCredential ${show (scOf eab).LoadCredential}, account ${show (defsOf eab).account}")
  (case "cert: metrics adds --metrics, opens the SQLite store's directory, joins the group sov; a password fails" (
    (scOf measured).ExecStart
    == "${bin} sync --config ${toString measured.services.sov.cert.definitionsFile} --metrics sqlite:/var/lib/sov/measurements.sqlite"
    && (scOf measured).ReadWritePaths == [ "-/var/lib/sov" ]
    && (scOf measured).SupplementaryGroups == [ "sov" ]
    && !((scOf gw) ? SupplementaryGroups)
    && (scOf gw).ReadWritePaths == [ ]
    && sovFailed measured == [ ]
    && someFailedMentions metricsPassword [
      "services.sov.cert.metrics"
      "password"
    ]
  ) "ExecStart ${show (scOf measured).ExecStart}, ReadWritePaths ${show (scOf measured).ReadWritePaths}")
  (case "cert: an EAB key in the store, or a kid alone, fail assertions" (
    someFailedMentions eabStore [
      "eab.hmacFile"
      "Nix store"
    ]
    && someFailedMentions eabHalf [ "both kid and hmacFile" ]
  ) "failing ${show (map sovFailed [ eabStore eabHalf ])}")
]
