# The shell scripts services.sov.cert generates (nixos-modules/cert.nix),
# evaluated on the gateway with the stand-ins of tests/nix/ and one
# certificate served by nginx, for tests/cert-sync.bats to run them here:
#
#   nix-instantiate --eval --strict --json tests/cert/nix-scripts.nix \
#     --argstr nixpkgsLib /abs/path/to/nixpkgs.lib
#
# gives { prepare; reload; deploy; definitions; store } (the scripts' text,
# the definitions as JSON text, and the stand-in store prefix of packages).
{ nixpkgsLib }:
let
  lib = import (/. + nixpkgsLib + "/lib");
  pkgs = import ../nix/pkgs.nix;
  cfg =
    (lib.evalModules {
      class = "nixos";
      modules = [
        ../nix/stubs.nix
        { _module.args.pkgs = pkgs; }
        ../../nixos-modules
        ../../hosts/gateway
        {
          services.nginx.enable = true;
          services.nginx.virtualHosts.shop.forceSSL = true;
          services.sov.cert.certs.shop = {
            domains = [
              "shop.sync.test"
              "www.shop.sync.test"
            ];
            nginxVirtualHosts = [ "shop" ];
            reloadServices = [ "postfix.service" ];
          };
        }
      ];
    }).config;
  s = cfg.services.sov.cert.scripts;
in
{
  prepare = s.prepare.text;
  reload = s.reload.text;
  deploy = s.deploy-shop.text;
  definitions = cfg.services.sov.cert.definitionsFile.json;
  store = "/nix/store/00000000000000000000000000000000-";
}
