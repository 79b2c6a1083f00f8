#!/bin/sh
# manifest.sh DIR - one line per entry under DIR, sorted by path:
#   path TAB type TAB mode TAB size TAB mtime TAB sha256 (files)
#   path TAB l TAB - TAB - TAB - TAB target              (symlinks)
#   path TAB d TAB mode TAB - TAB - TAB -                (directories)
# Two trees with equal manifests hold the same bytes under the same names
# with the same modes and (whole-second) modification times. Directory
# sizes and times and symlink times are left out: they depend on how the
# tree was written, not on what a backup preserved.
set -eu
export LC_ALL=C
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: manifest.sh DIR" >&2; exit 2; }
cd "$1"
sums=$(mktemp "${TMPDIR:-/tmp}/manifest.XXXXXX")
trap 'rm -f "$sums"' EXIT
find . -type f -print0 | xargs -0 -r -P2 -n 256 sha256sum >"$sums"
find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%Ts\t%l\n' |
	awk -F '\t' -v OFS='\t' '
	NR == FNR { p = substr($0, 67); sub(/^\.\//, "", p); h[p] = substr($0, 1, 64); next }
	$2 == "f" { print $1, "f", $3, $4, $5, ($1 in h) ? h[$1] : "unreadable"; next }
	$2 == "l" { print $1, "l", "-", "-", "-", $6; next }
	$2 == "d" { print $1, "d", $3, "-", "-", "-"; next }
	{ print $1, $2, $3, "-", "-", "-" }' "$sums" - |
	sort -t "$(printf '\t')" -k1,1
