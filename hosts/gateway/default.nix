# gateway: the small public VPS, the only public IP. The nginx reverse proxy,
# sov-cert and sov-probe of public endpoints land here as their modules do.
# Choices only: everything shared lives in nixos-modules/.
{
  imports = [ ./hardware.nix ];

  networking.hostName = "gateway";
  sov.host.role = "gateway";

  # HTTP (ACME challenges, redirect) and HTTPS, the only public TCP ports of
  # the whole system; plus the mesh port (sov.mesh.port) like every host.
  networking.firewall.allowedTCPPorts = [
    80
    443
  ];

  # ACME certificates for the public names (nixos-modules/cert.nix): the
  # account and the CA are choices of this host. A site adds itself as
  #
  #   services.nginx.virtualHosts.shop = { forceSSL = true; ... };
  #   services.sov.cert.certs.shop = {
  #     domains = [ "shop.example.org" "www.shop.example.org" ];
  #     nginxVirtualHosts = [ "shop" ];
  #   };
  #
  # and nginx then serves the certificate (a self-signed placeholder until
  # the first issuance) and the http-01 challenges from the shared webroot.
  services.sov.cert = {
    enable = true;
    acceptTerms = true;
    # email: the operator's address for the CA's notices (Let's Encrypt
    # refuses example.org), to set before the first certificate.
  };

  # Placeholder (its private key was thrown away): replace with the operator's
  # SSH public key before the first deploy. Evaluation warns until you do.
  sov.base.authorizedKeys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgHfg7hDhAVafOx2xAKzFlp03/kKlzsD8JSar72VvLL REPLACE-ME-operator-key"
  ];

  # The NixOS release this host was first installed with; never change it
  # on an installed machine (see the NixOS manual).
  system.stateVersion = "25.11";
}
