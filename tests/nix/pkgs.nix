# The `pkgs` the modules see in the stand-in evaluation (tests/nix/eval.nix):
# only what they use, nothing built. `sov` looks like a derivation to the
# module system (types.package) and carries the pname the cases look for.
{
  sov = {
    type = "derivation";
    pname = "sov";
    name = "sov-standin";
    outPath = "/nix/store/00000000000000000000000000000000-sov-standin";
  };
}
