# The `pkgs` the modules see in the stand-in evaluation (tests/nix/eval.nix):
# only what they use, nothing built. Each package looks like a derivation to
# the module system (types.package) and carries the pname the cases look for.
let
  fake = name: {
    type = "derivation";
    pname = name;
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
in
{
  # The builders services.sov.wf uses, shaped as nixpkgs' are to the cases:
  # the derivation's attributes readable on the result (runCommand's
  # script as buildCommand, writeText's text as text), nothing built.
  runCommand =
    name: env: script:
    env // fake name // { buildCommand = script; };
  writeText = name: text: fake name // { inherit text; };
  writeShellScript = name: text: fake name // { inherit text; };
  jq = fake "jq";
  openssl = fake "openssl";
  coreutils = fake "coreutils";
  systemd = fake "systemd";
  wireguard-tools = fake "wireguard-tools";

  sov = {
    type = "derivation";
    pname = "sov";
    name = "sov-standin";
    outPath = "/nix/store/00000000000000000000000000000000-sov-standin";
  };
  # services.postgresql.package's default (its version is what the backup
  # module checks).
  postgresql = {
    type = "derivation";
    pname = "postgresql";
    version = "17.6";
    name = "postgresql-17.6";
    outPath = "/nix/store/00000000000000000000000000000000-postgresql-17.6";
  };
}
