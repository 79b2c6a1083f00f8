# Evaluates the three hosts with the stand-ins (no nixpkgs, the nixpkgs lib
# only) and runs tests/nix/cases.nix on them. tests/nix/run.sh calls this:
#
#   nix-instantiate --eval --strict --json tests/nix/eval.nix \
#     --argstr nixpkgsLib /abs/path/to/nixpkgs.lib [--argstr only GROUP] [--arg catch false]
#
# and gets one list of { group; name; ok; msg; threw; }. With catch = true
# (the default) a case whose evaluation throws becomes ok = false, threw =
# true, so one broken case does not hide the others; run.sh then reruns that
# group with catch = false to show the error itself. The group "flake"
# evaluates flake.nix against a stand-in nixpkgs (tests/nix/flake-eval.nix);
# --argstr what testScripts gives the VM tests' Python, for linting.
{
  nixpkgsLib,
  only ? null,
  catch ? true,
  what ? "cases",
}:
let
  lib = import (/. + nixpkgsLib + "/lib");

  # What the nixpkgs module gives NixOS; here a stand-in (tests/nix/pkgs.nix).
  pkgsModule = {
    _module.args.pkgs = import ./pkgs.nix;
  };

  evalHost =
    name:
    lib.evalModules {
      class = "nixos";
      modules = [
        ./stubs.nix
        pkgsModule
        ../../nixos-modules
        (../../hosts + "/${name}")
      ];
    };

  hosts = lib.genAttrs [ "heart" "brain" "gateway" ] evalHost;
  flake = import ./flake-eval.nix { inherit lib; };
  groups = import ./cases.nix { inherit lib hosts; } ++ [
    {
      group = "flake";
      inherit (flake) cases;
    }
  ];
  selected = if only == null then groups else lib.filter (g: g.group == only) groups;

  force = c: builtins.deepSeq [
    c.ok
    c.msg
  ] c;
  runCase =
    group: c:
    let
      r = builtins.tryEval (force c);
    in
    {
      inherit group;
      inherit (c) name;
    }
    // (
      if !catch then
        force c // { threw = false; }
      else if r.success then
        {
          inherit (r.value) ok msg;
          threw = false;
        }
      else
        {
          ok = false;
          msg = "evaluating this case threw an error";
          threw = true;
        }
    );
in
if what == "testScripts" then
  flake.testScripts
else
  lib.concatMap (g: map (runCase g.group) g.cases) selected
