{
  description = "sov: small programs and NixOS modules for the three machines a small business owns";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      hostNames = [
        "heart"
        "brain"
        "gateway"
      ];

      # nixpkgs with sov in it, once per system.
      pkgsFor = lib.genAttrs systems (
        system:
        import nixpkgs {
          inherit system;
          overlays = [ self.overlays.default ];
        }
      );
      forAllSystems = f: lib.genAttrs systems (system: f pkgsFor.${system});

      mkHost =
        name:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            { nixpkgs.overlays = [ self.overlays.default ]; }
            ./hosts/${name}
          ];
        };

      # The evaluation cases of tests/nix/cases.nix, run against the real
      # NixOS configurations (tests/nix/run.sh runs them against stand-ins).
      caseGroups = import ./tests/nix/cases.nix {
        inherit lib;
        hosts = self.nixosConfigurations;
      };

      # One check per case group: fails when a case does, its log in TAP. A
      # host's check also evaluates the whole system (toplevel's drvPath),
      # which is where NixOS's own assertions and type checks run.
      evalCheck =
        pkgs: group:
        let
          cases = (lib.findFirst (g: g.group == group) { cases = [ ]; } caseGroups).cases;
          failed = lib.filter (c: !c.ok) cases;
          toplevel = lib.optionalString (lib.elem group hostNames) (
            builtins.unsafeDiscardStringContext self.nixosConfigurations.${group}.config.system.build.toplevel.drvPath
          );
          tap = lib.concatStrings (
            lib.imap1 (
              i: c:
              (if c.ok then "ok" else "not ok")
              + " ${toString i} - eval ${group}: ${c.name}\n"
              + lib.optionalString (!c.ok) "# ${c.msg}\n"
            ) cases
          );
        in
        pkgs.runCommand "sov-eval-${group}"
          {
            inherit tap toplevel;
            passAsFile = [ "tap" ];
          }
          ''
            cat "$tapPath"
            echo "1..${toString (lib.length cases)}"
            if [ -n "$toplevel" ]; then echo "# toplevel: $toplevel"; fi
            ${lib.optionalString (failed != [ ]) "exit 1"}
            touch "$out"
          '';

      # The stand-in layer itself (tests/nix/run.sh), with this nixpkgs as
      # the nixpkgs lib: keeps the stand-ins honest where CI cannot run them.
      standinCheck =
        pkgs:
        pkgs.runCommand "sov-nix-standin"
          {
            nativeBuildInputs = [
              pkgs.nix
              pkgs.jq
              pkgs.python3Packages.pyflakes
            ];
          }
          ''
            set -o pipefail
            export HOME=$TMPDIR
            cd "$TMPDIR"
            # Plain copies, outside the store: run.sh's Nix uses no store.
            cp -r ${self} src
            mkdir nixpkgs-lib
            cp -r ${nixpkgs}/lib nixpkgs-lib/lib
            SOV_NIXPKGS_LIB=$TMPDIR/nixpkgs-lib bash src/tests/nix/run.sh | tee "$TMPDIR/tap"
            # Here every case must run: a skip would mean the layer did not.
            if grep -q -e '^not ok' -e '# skip' "$TMPDIR/tap"; then exit 1; fi
            grep -q '^1\.\.[1-9]' "$TMPDIR/tap"
            touch "$out"
          '';

      # Public TCP ports each host opens (the mesh port, UDP, is on all).
      publicTCP = {
        heart = [ ];
        brain = [ ];
        gateway = [
          80
          443
        ];
      };

      # A VM per host: its configuration minus the hardware file
      # (tests/nix/vm-node.nix), and a machine "outside" on the same network
      # standing for the internet. Run with `nix flake check` or
      # `nix build .#checks.x86_64-linux.vm-heart`.
      vmTest =
        pkgs: name:
        let
          socat = "${pkgs.socat}/bin/socat";
          open = publicTCP.${name};
          closed = lib.subtractLists open [
            22
            80
            443
          ];
          pyList = ps: "[${lib.concatMapStringsSep ", " toString ps}]";
          tools =
            { pkgs, ... }:
            {
              environment.systemPackages = [
                pkgs.netcat
                pkgs.socat
                pkgs.iproute2
              ];
            };
        in
        pkgs.testers.runNixOSTest {
          name = "sov-vm-${name}";
          nodes = {
            ${name} = {
              imports = [
                (import ./tests/nix/vm-node.nix { inherit name; })
                tools
              ];
            };
            outside = tools;
          };
          testScript = ''
            start_all()
            ${name}.wait_for_unit("multi-user.target")
            outside.wait_for_unit("multi-user.target")

            with subtest("the host is ${name}, its firewall is up"):
                ${name}.succeed("test \"$(hostname)\" = ${name}")
                ${name}.wait_for_unit("firewall.service")

            with subtest("sshd runs, and only the host itself reaches it"):
                ${name}.wait_for_unit("sshd.service")
                ${name}.wait_for_open_port(22)
                outside.fail("nc -4 -z -w 3 ${name} 22")

            with subtest("public TCP: open ${pyList open}, closed ${pyList closed}"):
                for port in [80, 443]:
                    ${name}.succeed(
                        f"systemd-run --unit=sov-listen-{port} "
                        f"${socat} -u TCP4-LISTEN:{port},fork,reuseaddr OPEN:/dev/null"
                    )
                    ${name}.wait_for_open_port(port)
                for port in ${pyList open}:
                    outside.succeed(f"nc -4 -z -w 3 ${name} {port}")
                for port in ${pyList closed}:
                    outside.fail(f"nc -4 -z -w 3 ${name} {port}")

            with subtest("the mesh port (UDP 51820) takes datagrams from outside"):
                ${name}.succeed(
                    "systemd-run --unit=sov-listen-udp "
                    "${socat} -u UDP4-RECV:51820 CREATE:/tmp/udp-received"
                )
                ${name}.wait_until_succeeds("ss -Hlun 'sport = :51820' | grep -q 51820")
                for _ in range(30):
                    outside.succeed("echo sov-mesh | socat -u - UDP4-SENDTO:${name}:51820")
                    if ${name}.execute("grep -q sov-mesh /tmp/udp-received")[0] == 0:
                        break
                    outside.sleep(1)
                else:
                    raise Exception("no datagram reached ${name} on UDP 51820")
          '';
        };
    in
    {
      overlays.default = final: prev: {
        sov = final.callPackage ./package.nix { };
      };

      packages = forAllSystems (pkgs: {
        default = pkgs.sov;
        sov = pkgs.sov;
      });

      # Everything the Makefile, the tests and the fuzzers use. `nix develop`
      # sets IN_NIX_SHELL itself, so `make deps` knows to install nothing.
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          # The compiler, pkg-config and every library sov links with.
          inputsFrom = [ pkgs.sov ];
          packages = [
            pkgs.gcc
            pkgs.gnumake
            pkgs.pkg-config
            pkgs.jq
            # Server binaries (initdb, pg_ctl, postgres) for the tests.
            pkgs.postgresql
            pkgs.sqlite
            pkgs.curl
            pkgs.libsodium
            pkgs.zstd
            pkgs.openssl
            pkgs.libmicrohttpd
            (pkgs.bats.withLibraries (p: [
              p.bats-support
              p.bats-assert
              p.bats-file
            ]))
            # libFuzzer targets (make fuzz), symbolized sanitizer reports,
            # clang-format (make format).
            pkgs.clang
            pkgs.llvm
            pkgs.clang-tools
            pkgs.valgrind
            pkgs.nix
            # sov-probe's mesh tests: userspace WireGuard in namespaces.
            pkgs.wireguard-go
            pkgs.wireguard-tools
            pkgs.iproute2
          ];
          # tests/nix/run.sh evaluates the modules against this nixpkgs' lib.
          SOV_NIXPKGS_LIB = "${nixpkgs}";
        };
      });

      # Imported by path so the module system knows it by file: importing it
      # twice (tests/nix/vm-node.nix on top of a host) adds nothing twice.
      nixosModules.default = {
        imports = [ ./nixos-modules ];
      };

      nixosConfigurations = lib.genAttrs hostNames mkHost;

      checks = forAllSystems (
        pkgs:
        {
          sov = pkgs.sov;
          standin = standinCheck pkgs;
          vm-backup = import ./tests/nix/vm-backup.nix { inherit pkgs; };
          vm-wf = import ./tests/nix/vm-wf.nix { inherit pkgs; };
          vm-probe = import ./tests/nix/vm-probe.nix { inherit pkgs; };
          vm-cert = import ./tests/nix/vm-cert.nix { inherit pkgs; };
        }
        // lib.listToAttrs (
          map (g: lib.nameValuePair "eval-${g}" (evalCheck pkgs g)) (hostNames ++ [ "modules" ])
        )
        // lib.listToAttrs (map (name: lib.nameValuePair "vm-${name}" (vmTest pkgs name)) hostNames)
      );

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
