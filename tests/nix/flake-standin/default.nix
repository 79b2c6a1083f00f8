# A stand-in for `import nixpkgs { system; overlays; }`, so tests/nix/
# flake-eval.nix can evaluate flake.nix where nixpkgs cannot be fetched. Each
# package is a name that looks like a derivation; the builders return their
# arguments for the cases to inspect; nothing is built. The nixpkgs lib comes
# from $SOV_NIXPKGS_LIB (tests/nix/run.sh exports it).
{
  system,
  overlays ? [ ],
}:
let
  lib = import (/. + builtins.getEnv "SOV_NIXPKGS_LIB" + "/lib");

  fake = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    drvPath = "/nix/store/00000000000000000000000000000000-${name}.drv";
  };

  base = self: {
    inherit lib system;

    callPackage =
      fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
      in
      f (builtins.intersectAttrs (lib.functionArgs f) self // args);

    stdenv.mkDerivation =
      attrs:
      attrs
      // fake "${attrs.pname}-${attrs.version}"
      // {
        inherit (attrs) pname;
      };

    mkShell = attrs: fake "shell" // { inherit attrs; };

    python3Packages.pyflakes = fake "pyflakes";

    # The derivation's attributes are also readable on the result, as on
    # nixpkgs' (the script as buildCommand).
    runCommand =
      name: env: script:
      env
      // fake name
      // {
        inherit env script;
        buildCommand = script;
      };
    writeText = name: text: fake name // { inherit text; };
    writeShellScript = name: text: fake name // { inherit text; };

    bats = fake "bats" // {
      withLibraries =
        f:
        fake "bats-with-libraries"
        // {
          libraries = map (l: l.name) (f (lib.genAttrs [ "bats-support" "bats-assert" "bats-file" ] fake));
        };
    };

    # The nodes are evaluated like the hosts, with the option stand-ins.
    testers.runNixOSTest =
      test:
      fake test.name
      // {
        inherit (test) testScript;
        nodes = lib.mapAttrs (
          name: node:
          (lib.evalModules {
            class = "nixos";
            modules = [
              ../stubs.nix
              { _module.args.pkgs = self; }
              node
            ];
          }).config
        ) test.nodes;
      };
  }
  // lib.genAttrs [
    "clang"
    "clang-tools"
    "coreutils"
    "curl"
    "gcc"
    "gnumake"
    "iproute2"
    "jq"
    "libmicrohttpd"
    "libpq"
    "libsodium"
    "llvm"
    "netcat"
    "nix"
    "nixfmt"
    "openssl"
    "pebble"
    "pkg-config"
    "postgresql"
    "socat"
    "sqlite"
    "systemd"
    "valgrind"
    "wireguard-go"
    "wireguard-tools"
    "zstd"
  ] fake
  // {
    # services.postgresql.package's default in the stand-in options; the
    # backup module checks its version.
    postgresql = fake "postgresql" // {
      version = "17.6";
    };
  };
in
lib.fix (lib.foldl' (acc: overlay: lib.extends overlay acc) base overlays)
