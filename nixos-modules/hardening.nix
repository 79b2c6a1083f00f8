# The one systemd hardening block every sov service starts from.
#
# A plain attribute set, not a module, so tests and other modules can import
# it directly. NixOS modules reach it as the read-only option
# `config.sov.lib.hardening` (nixos-modules/lib.nix) and use it ONE way:
#
#   serviceConfig = config.sov.lib.hardening // {
#     ExecStart = "...";
#     StateDirectory = "sov-NAME";
#     # Relaxed: <why this service needs it>.
#     PrivateUsers = false;
#   };
#
# `//` replaces a setting whole, so a relaxation is one visible line with its
# reason next to it; lib.mkMerge would instead concatenate the lists (wrongly
# widening or narrowing SystemCallFilter) and refuse to merge two different
# booleans. To relax part of a list, restate the whole list.
#
# DynamicUser: every sov service runs as a transient user with its state in
# StateDirectory (/var/lib/sov-NAME), the modern default (systemd.exec(5)).
# A service that must own files across units or match a database role that
# is not its unit name sets `DynamicUser = false; User = ...;` and says why.
# Services that share files use SupplementaryGroups = [ "sov" ] (the group
# the base profile creates) instead of a shared user.
{
  DynamicUser = true;
  NoNewPrivileges = true;
  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  # A user namespace maps every other UID to nobody: a service only sees its
  # own files as owned. Relax where a service must read other users' files.
  PrivateUsers = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  ProtectProc = "invisible";
  ProcSubset = "pid";
  RestrictAddressFamilies = [
    "AF_UNIX"
    "AF_INET"
    "AF_INET6"
  ];
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  MemoryDenyWriteExecute = true;
  RemoveIPC = true;
  SystemCallArchitectures = "native";
  SystemCallFilter = [
    "@system-service"
    "~@privileged"
    "~@resources"
  ];
  # The empty string empties the set: no capabilities at all.
  CapabilityBoundingSet = "";
  AmbientCapabilities = "";
  UMask = "0077";
}
