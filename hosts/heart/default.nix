# heart: low-power, always on, never goes down. PostgreSQL, sov-wf workers,
# sov-probe and the backup timers land here as their modules do.
# Choices only: everything shared lives in nixos-modules/.
{
  imports = [ ./hardware.nix ];

  networking.hostName = "heart";
  sov.host.role = "heart";

  # Public ports: only the mesh port (sov.mesh.port, nixos-modules/
  # mesh-port.nix). The role check in nixos-modules/host.nix fails
  # evaluation if anything else is opened.

  # Placeholder (its private key was thrown away): replace with the operator's
  # SSH public key before the first deploy. Evaluation warns until you do.
  sov.base.authorizedKeys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgHfg7hDhAVafOx2xAKzFlp03/kKlzsD8JSar72VvLL REPLACE-ME-operator-key"
  ];

  # The NixOS release this host was first installed with; never change it
  # on an installed machine (see the NixOS manual).
  system.stateVersion = "25.11";
}
