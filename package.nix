# sov: libsov and every sov-* tool, built and unit-tested by the Makefile.
# The flake's overlay and packages.* call this with callPackage.
{
  lib,
  stdenv,
  pkg-config,
  jq,
  libpq,
  sqlite,
  curl,
  libsodium,
  zstd,
  openssl,
  libmicrohttpd,
}:
stdenv.mkDerivation {
  pname = "sov";
  version = lib.fileContents ./VERSION;

  # The repository minus its Nix side (and build output), so changing a
  # module, a host or the flake does not rebuild the package. Through the
  # flake the source holds only files git tracks.
  src = lib.fileset.toSource {
    root = ./.;
    fileset = lib.fileset.difference ./. (
      lib.fileset.unions (
        map lib.fileset.maybeMissing [
          ./.git
          ./build
          ./flake.nix
          ./flake.lock
          ./package.nix
          ./nixos-modules
          ./hosts
          ./tests/nix
        ]
      )
    );
  };

  # tests/run.sh and its helpers start with #!/usr/bin/env bash, which the
  # sandbox does not have.
  postPatch = ''
    patchShebangs tests mk
  '';

  nativeBuildInputs = [ pkg-config ];
  # jq: stdenv takes its dev output (jv.h, libjq.pc), which points at the lib
  # output holding libjq. libpq: the client library alone, not the server.
  buildInputs = [
    jq
    libpq
    sqlite
    curl
    libsodium
    zstd
    openssl
    libmicrohttpd
  ];

  enableParallelBuilding = true;
  # Used by every phase: warnings are errors, as in CI; install under $out.
  makeFlags = [
    "WERROR=1"
    "PREFIX=${placeholder "out"}"
  ];

  # The C unit tests. The sandbox has no PostgreSQL server (nothing starts
  # one here), so the PostgreSQL cases print skips with the reason and the
  # rest run; CI runs them against a real server (SOV_REQUIRE_PG=1).
  doCheck = true;
  checkTarget = "check-unit";

  # installPhase is the default: `make install` with makeFlags' PREFIX.

  meta = {
    description = "Small programs that let a business own the systems it runs on: backups, certificates, model routing, embeddings, workflows, probes";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    # No mainProgram: sov is several programs (sov-backup, sov-cert, ...).
  };
}
