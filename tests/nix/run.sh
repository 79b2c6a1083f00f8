#!/usr/bin/env bash
# run.sh - check the Nix parts where nothing can be built with Nix (docs/nix.md)
#
#   tests/nix/run.sh            TAP on stdout, the plan line last
#
# 1. Parse: every .nix file of the repo (tracked and untracked, or all found
#    when this is not a git work tree) through `nix-instantiate --parse`.
# 2. Evaluate: when SOV_NIXPKGS_LIB names a nixpkgs.lib checkout (a directory
#    with lib/ in it; nixpkgs itself works too), tests/nix/eval.nix evaluates
#    the hosts with the stand-ins of tests/nix/stubs.nix and runs the cases of
#    tests/nix/cases.nix: one TAP line per case. Without it, one skipped line
#    per group says why.
#
# Nix runs with the dummy store: no daemon, no /nix, no root needed, and any
# attempt to copy a file into the store is an error rather than a side effect.
# Exit 0 whatever the cases say (the caller counts the TAP); non-zero only if
# this script itself cannot run.
set -u

case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac
root=$(cd "$here/../.." && pwd) || exit 1
cd "$root" || exit 1

export NIX_CONFIG="build-users-group =${NIX_CONFIG:+
$NIX_CONFIG}"
nixi() { nix-instantiate --store dummy:// "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sov-nix.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n # skip $1"; }
# diag FILE: a file's lines as TAP comments, the nixbld noise of a
# daemon-less Nix left out.
diag() { grep -v "build-users-group" "$1" | tail -n "${2:-20}" | sed 's/^/# /'; }

# The groups of tests/nix/cases.nix, for the skipped lines.
groups="heart brain gateway modules flake"
nolib="SOV_NIXPKGS_LIB not set (a nixpkgs.lib checkout; see docs/nix.md)"

# The .nix files: git's view when this is a work tree of its own, else find.
list="$work/files"
if [ "$(git -C "$root" rev-parse --show-toplevel 2>/dev/null)" = "$root" ]; then
	{ git ls-files -z -- '*.nix' && git ls-files -z --others --exclude-standard -- '*.nix'; } >"$list.z" || exit 1
else
	find . \( -name .git -o -name build -o -name node_modules \) -prune -o -name '*.nix' -type f -print0 |
		sed -z 's|^\./||' >"$list.z" || exit 1
fi
sort -z -u "$list.z" | tr '\0' '\n' >"$list" || exit 1

if ! command -v nix-instantiate >/dev/null 2>&1; then
	why="nix-instantiate not found (apt-get install nix-bin, or run inside nix develop)"
	while IFS= read -r f; do
		[ -e "$f" ] && skip "parse $f: $why"
	done <"$list"
	for g in $groups; do skip "eval $g: $why"; done
	echo "1..$n"
	exit 0
fi

# 1. Parse.
while IFS= read -r f; do
	[ -e "$f" ] || continue # tracked but deleted in the work tree
	if nixi --parse "$f" >/dev/null 2>"$work/err"; then
		ok "parse $f"
	else
		notok "parse $f"
		diag "$work/err"
	fi
done <"$list"

# 2. Evaluate.
if [ -z "${SOV_NIXPKGS_LIB:-}" ]; then
	for g in $groups; do skip "eval $g: $nolib"; done
	echo "1..$n"
	exit 0
fi
if [ ! -d "$SOV_NIXPKGS_LIB/lib" ]; then
	notok "eval: SOV_NIXPKGS_LIB=$SOV_NIXPKGS_LIB has no lib/ directory (see docs/nix.md)"
	echo "1..$n"
	exit 0
fi
if ! command -v jq >/dev/null 2>&1; then
	for g in $groups; do skip "eval $g: jq not found (make deps installs it)"; done
	echo "1..$n"
	exit 0
fi
libdir=$(cd "$SOV_NIXPKGS_LIB" && pwd) || exit 1
# tests/nix/flake-standin reads it from the environment.
export SOV_NIXPKGS_LIB=$libdir

want=$(tr -d '[:space:]' <tests/nix/LIB_REV 2>/dev/null)
if [ "$(git -C "$libdir" rev-parse --show-toplevel 2>/dev/null)" = "$libdir" ]; then
	have=$(git -C "$libdir" rev-parse HEAD 2>/dev/null)
	case $have in
	"$want"*) ;;
	*) echo "# SOV_NIXPKGS_LIB is at ${have:-an unknown revision}; the cases were written against ${want:-?} (tests/nix/LIB_REV)" ;;
	esac
else
	echo "# SOV_NIXPKGS_LIB is not a git checkout: its revision is unknown; the cases were written against ${want:-?} (tests/nix/LIB_REV)"
fi

lint=
if command -v pyflakes3 >/dev/null 2>&1; then
	lint=pyflakes3
elif command -v pyflakes >/dev/null 2>&1; then
	lint=pyflakes
fi

# evalcases OUT [GROUP [CATCH]]: the cases as a JSON list in OUT.
evalcases() {
	local args=(--argstr nixpkgsLib "$libdir")
	[ -n "${2:-}" ] && args+=(--argstr only "$2")
	[ -n "${3:-}" ] && args+=(--arg catch "$3")
	nixi --eval --strict --json tests/nix/eval.nix "${args[@]}" >"$1" 2>"$work/err.${2:-all}"
}

# report JSON: one TAP line per case; a case that threw gets the error of
# its group evaluated again without catching.
report() {
	local group name okv threw msg shown=
	jq -r '.[] | [.group, .name, (.ok | tostring), (.threw | tostring), .msg] | @tsv' "$1" >"$work/tsv" || exit 1
	while IFS=$'\t' read -r group name okv threw msg; do
		if [ "$okv" = true ]; then
			ok "eval $group: $name"
			continue
		fi
		notok "eval $group: $name"
		echo "# $msg"
		if [ "$threw" = true ] && [[ " $shown " != *" $group "* ]]; then
			shown="$shown $group"
			evalcases "$work/raw" "$group" false
			echo "# the error (group $group evaluated again without catching):"
			diag "$work/err.$group" 30
		fi
	done <"$work/tsv"
}

if evalcases "$work/all.json"; then
	report "$work/all.json"
else
	# Something no case can catch (a parse or type error in a module, a
	# missing file): evaluate each group alone to say which is broken.
	for g in $groups; do
		if evalcases "$work/$g.json" "$g"; then
			report "$work/$g.json"
		else
			notok "eval $g: the group does not evaluate"
			diag "$work/err.$g" 30
		fi
	done
fi

# 3. The VM tests' Python, linted as the NixOS test driver lints it (the
# driver's names declared), when the flake evaluates at all.
if [ -n "$lint" ] && nixi --eval --strict --json tests/nix/eval.nix --argstr nixpkgsLib "$libdir" \
	--argstr what testScripts >"$work/scripts.json" 2>"$work/err.scripts"; then
	for h in $(jq -r 'keys[]' "$work/scripts.json"); do
		py="$work/vm-$h.py"
		{
			echo "from typing import Any"
			echo "start_all: Any = None; subtest: Any = None"
			jq -r --arg h "$h" '.[$h].nodes[] | . + ": Any = None"' "$work/scripts.json"
			jq -r --arg h "$h" '.[$h].script' "$work/scripts.json"
		} >"$py"
		if $lint "$py" >"$work/lint" 2>&1; then
			ok "lint vm-$h testScript ($lint)"
		else
			notok "lint vm-$h testScript ($lint)"
			diag "$work/lint"
		fi
	done
elif [ -z "$lint" ]; then
	skip "lint VM testScripts: pyflakes not installed (apt-get install pyflakes3)"
fi

echo "1..$n"
