#!/bin/sh
# backup.sh - sov-backup against Debian's restic and borgbackup on the same
# corpus in the same run (issue 4, "Benchmark"). The corpus (bench/backup/
# corpus.sh: a source tree, a plain pg_dump of a database filled here,
# random, compressed and native binary files; then the same with about 1%
# changed) is built once under $SOV_BENCH_DIR and reused. For each tool:
# init, initial backup, incremental backup after the change, restore of the
# latest snapshot (compared entry by entry with the corpus: a tool that
# restores wrong data fails the bench), check with full data verification,
# forget of the first snapshot, prune; wall time and peak RSS of every step
# (GNU time; each step ends with a sync so write-back is paid by the step
# that wrote), throughput as corpus MiB per second, repository size. Plus
# the limit: reading and hashing the corpus with no chunking, compression or
# encryption. Page caches are dropped before every step when possible.
#
#   SOV_BENCH_CORPUS_MB=1024   corpus size in MiB (200 for a quick run)
#   SOV_BENCH_DIR=/var/tmp/sov-bench   corpus cache and scratch space
#   SOV_BENCH_TOOLS="sov-backup restic borg"   which tools to run
#   SOV_BENCH_PRUNE_SCALE=1    also: prune's peak RSS at N and 10N snapshots
#                              (=only: that experiment alone)
#   SOV_BENCH_PRUNE_GENS=10    N for that experiment
#   SOV_BENCH_PRUNE_FILES=2000 new 2 KiB files per snapshot in it
#   SOV_BENCH_PRUNE_KDF_MIB=8  Argon2id memory of sov-backup's key in it: the
#                              smallest, so that prune's peak shows prune's
#                              own memory rather than the key's
#   SOV_BENCH_CACHE=warm       do not drop page caches (CPU-bound figures;
#                              the default drops them before every step)
#   SOV_BENCH_KEEP=1           keep the scratch directory (repositories, logs)
#   SOV_BENCH_KDF_MIB=32       Argon2id memory of sov-backup's key: restic's
#                              scrypt key uses 32 MiB, so peak RSS compares
#                              the tools at the same key cost (sov-backup's
#                              default is 64: every command then peaks at
#                              70 MiB or more)
#   SOV_BUILD=build            where sov-backup is
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
export LC_ALL=C
top=$(pwd)
B=${SOV_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
MB=${SOV_BENCH_CORPUS_MB:-1024}
BASE=${SOV_BENCH_DIR:-/var/tmp/sov-bench}
TOOLS=${SOV_BENCH_TOOLS:-sov-backup restic borg}
KDF_MIB=${SOV_BENCH_KDF_MIB:-32}
case $KDF_MIB in '' | *[!0-9]*) echo "bench: SOV_BENCH_KDF_MIB='$KDF_MIB' is not a number" >&2; exit 2 ;; esac
PKDF_MIB=${SOV_BENCH_PRUNE_KDF_MIB:-8}
case $PKDF_MIB in '' | *[!0-9]*) echo "bench: SOV_BENCH_PRUNE_KDF_MIB='$PKDF_MIB' is not a number" >&2; exit 2 ;; esac
case $MB in '' | *[!0-9]*) echo "bench: SOV_BENCH_CORPUS_MB='$MB' is not a number" >&2; exit 2 ;; esac
t_start=$(date +%s)
main=1
pscale=0
case ${SOV_BENCH_PRUNE_SCALE:-0} in
0) ;;
1) pscale=1 ;;
only) pscale=1 main=0 ;;
*) echo "bench: SOV_BENCH_PRUNE_SCALE='$SOV_BENCH_PRUNE_SCALE': use 1 or only" >&2; exit 2 ;;
esac
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

say() { echo "bench: $*" >&2; }

# --- what this needs ------------------------------------------------------
need=
for t in $TOOLS; do
	case $t in
	restic) command -v restic >/dev/null 2>&1 || need="$need restic" ;;
	borg) command -v borg >/dev/null 2>&1 || need="$need borgbackup" ;;
	sov-backup) ;;
	*) echo "bench: unknown tool '$t' in SOV_BENCH_TOOLS" >&2; exit 2 ;;
	esac
done
[ -x /usr/bin/time ] || need="$need time"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
command -v b2sum >/dev/null 2>&1 || need="$need coreutils"
corpus=$BASE/backup-corpus-$MB
if [ "$main" = 1 ] && ! [ -f "$corpus/complete" ]; then
	[ -x /usr/lib/postgresql/15/bin/initdb ] || need="$need postgresql-15"
	command -v pgbench >/dev/null 2>&1 || need="$need postgresql-contrib"
fi
apt_need "$need"

mkdir -p "$BASE"
if [ "$main" = 1 ]; then
	sh bench/backup/corpus.sh "$corpus" "$MB"
	v1_bytes=$(awk '$1 == "total" { print $2 }' "$corpus/info")
	v2_bytes=$(awk '$1 == "v2" { print $2 }' "$corpus/info")
fi

work=$(mktemp -d "$BASE/run.XXXXXX")
cleanup() {
	if [ "${SOV_BENCH_KEEP:-0}" = 1 ]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$work/log" "$work/cache" "$work/config" "$work/cred"
stage=$work/corpus
res=$work/results
: >"$res"
status=0

# Secrets the way each tool takes them: files for restic and sov-backup
# (sov-backup through the systemd credentials directory), env for borg.
umask 077
printf 'correct horse battery staple\n' >"$work/cred/password"
umask 022
export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
export RESTIC_PASSWORD_FILE="$work/cred/password"
export BORG_PASSPHRASE='correct horse battery staple'
export BORG_BASE_DIR="$work/config/borg"
export CREDENTIALS_DIRECTORY="$work/cred"
unset SOV_METRICS SOV_BACKUP_REPO GOMAXPROCS RESTIC_REPOSITORY BORG_REPO 2>/dev/null || true

# put TOOL KEY VALUE / get TOOL KEY: the results table
put() { echo "$1 $2 $3" >>"$res"; }
get() { awk -v t="$1" -v k="$2" '$1 == t && $2 == k { v = $3 } END { print v }' "$res"; }

cold=0
if [ "${SOV_BENCH_CACHE:-cold}" = warm ]; then
	:
elif [ "$(id -u)" -eq 0 ] && sync && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
	cold=1
fi
drop_caches() {
	sync
	if [ "$cold" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches || true; fi
}

# timed TOOL STEP CMD...: run CMD (then sync) from cold caches under GNU time;
# records STEP.s, STEP.cpu (user + system seconds) and STEP.rss (KiB), or
# STEP.fail; returns CMD's status
timed() {
	tool=$1
	step=$2
	shift 2
	drop_caches
	say "$tool: $step"
	mkdir -p "$work/cache/$tool" "$work/config/$tool"
	# Each tool its own local cache and config, so their sizes can be told apart.
	if /usr/bin/time -f '%e %M %U %S' -o "$work/time" env XDG_CACHE_HOME="$work/cache/$tool" \
		XDG_CONFIG_HOME="$work/config/$tool" BORG_BASE_DIR="$work/config/$tool" sh -c '"$@"; rc=$?; sync; exit $rc' sh "$@" \
		>"$work/log/$tool.$step.out" 2>"$work/log/$tool.$step.err"; then
		# shellcheck disable=SC2046 # four numbers, split on purpose
		set -- $(tail -n 1 "$work/time")
		put "$tool" "$step.s" "$1"
		put "$tool" "$step.rss" "$2"
		put "$tool" "$step.cpu" "$(awk -v u="$3" -v s="$4" 'BEGIN { printf "%.2f", u + s }')"
		return 0
	else
		rc=$?
		put "$tool" "$step.fail" "$rc"
		say "$tool: $step FAILED (exit $rc): $*"
		tail -n 5 "$work/log/$tool.$step.err" | sed 's/^/    /' >&2
		return "$rc"
	fi
}

repo_of() { echo "$work/repo-$1"; }

# run_step TOOL STEP: run STEP of TOOL under timed
sov=$B/sov-backup
run_step() {
	tool=$1
	step=$2
	repo=$(repo_of "$tool")
	case $tool.$step in
	sov-backup.init) timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" init --kdf-memory "$KDF_MIB" ;;
	sov-backup.backup1 | sov-backup.backup2)
		timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" backup "$stage" ;;
	sov-backup.restore)
		timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" restore latest --target "$work/restore-$tool" ;;
	sov-backup.snapshots) timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" snapshots ;;
	sov-backup.check) timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" check --read-data ;;
	sov-backup.forget) timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" forget --keep-last 1 ;;
	sov-backup.prune) timed "$tool" "$step" env SOV_BACKUP_REPO="$repo" "$sov" prune ;;
	restic.init) timed "$tool" "$step" restic -r "$repo" init ;;
	restic.backup1 | restic.backup2) timed "$tool" "$step" restic -r "$repo" backup -q "$stage" ;;
	restic.restore) timed "$tool" "$step" restic -r "$repo" restore latest --target "$work/restore-$tool" ;;
	restic.snapshots) timed "$tool" "$step" restic -r "$repo" snapshots ;;
	restic.check) timed "$tool" "$step" restic -r "$repo" check --read-data ;;
	restic.forget) timed "$tool" "$step" restic -r "$repo" forget --keep-last 1 ;;
	restic.prune) timed "$tool" "$step" restic -r "$repo" prune ;;
	borg.init) timed "$tool" "$step" borg init -e repokey-blake2 "$repo" ;;
	borg.backup1) timed "$tool" "$step" borg create "$repo::b1" "$stage" ;;
	borg.backup2) timed "$tool" "$step" borg create "$repo::b2" "$stage" ;;
	borg.restore) timed "$tool" "$step" env -C "$work/restore-$tool" borg extract "$repo::b2" ;;
	borg.snapshots) timed "$tool" "$step" borg list "$repo" ;;
	borg.check) timed "$tool" "$step" borg check --verify-data "$repo" ;;
	borg.forget) timed "$tool" "$step" borg prune --keep-last 1 "$repo" ;;
	borg.prune) timed "$tool" "$step" borg compact "$repo" ;;
	*) say "internal: no step $tool.$step"; return 1 ;;
	esac
}

repo_size() { du -sb "$(repo_of "$1")" | cut -f1; }
cache_size() { du -sbc "$work/cache/$1" "$work/config/$1" | tail -n 1 | cut -f1; }

# verify_restore TOOL: the restored tree must equal corpus v2 entry by entry
verify_restore() {
	root=
	rdir=$work/restore-$1
	for c in "$rdir$stage" "$rdir/corpus" "$rdir"; do
		if [ -d "$c/src" ] && [ -d "$c/db" ]; then
			root=$c
			break
		fi
	done
	if [ -z "$root" ]; then
		say "$1: RESTORE WRONG: no restored corpus under $rdir"
		find "$rdir" -maxdepth 4 | head -n 5 | sed 's/^/    /' >&2
		return 1
	fi
	sh bench/backup/manifest.sh "$root" >"$work/restored.manifest"
	if ! cmp -s "$corpus/v2.manifest" "$work/restored.manifest"; then
		n=$(diff "$corpus/v2.manifest" "$work/restored.manifest" | grep -c '^[<>]' || true)
		say "$1: RESTORE WRONG: $n manifest lines differ from the corpus (< expected, > restored):"
		diff "$corpus/v2.manifest" "$work/restored.manifest" | grep '^[<>]' | head -n 10 | sed 's/^/    /' >&2
		return 1
	fi
	return 0
}

# --- which tools run ----------------------------------------------------------
alive=
for t in $TOOLS; do
	if [ "$t" = sov-backup ]; then
		if [ ! -x "$sov" ] && [ -f tools/sov-backup/main.c ]; then
			say "building $sov"
			make -s "$sov" >"$work/log/make.out" 2>&1 || true
		fi
		if [ ! -x "$sov" ]; then
			put sov-backup skip not-built
			say "sov-backup SKIPPED: $sov not found (make $sov)"
			continue
		fi
	fi
	alive="$alive $t"
done

if [ "$main" = 1 ]; then
	# --- stage v1 and measure the limit ---------------------------------------
	say "staging corpus v1 ($(awk -v b="$v1_bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB) in $stage"
	mkdir "$stage"
	cp -a "$corpus/v1/." "$stage/"
	timed limit read sh -c 'find "$1" -type f -print0 | xargs -0 cat >/dev/null' sh "$stage"
	timed limit b2sum1 sh -c 'find "$1" -type f -print0 | xargs -0 cat | b2sum >/dev/null' sh "$stage"
	timed limit b2sum2 sh -c 'find "$1" -type f -print0 | xargs -0 -P2 -n 64 b2sum >/dev/null' sh "$stage"

	# --- init and the initial backup ------------------------------------------
	for t in $alive; do
		if ! run_step "$t" init; then
			if [ "$t" = sov-backup ]; then
				why=$(grep -v '^Command exited' "$work/log/$t.init.err" | head -n 1)
				put sov-backup skip "init-failed"
				say "sov-backup SKIPPED: sov-backup init failed: ${why:-no message}"
				alive=$(echo "$alive" | sed 's/ sov-backup//')
				continue
			fi
			status=1
			alive=$(echo "$alive" | sed "s/ $t//")
			continue
		fi
		if run_step "$t" backup1; then
			put "$t" size1 "$(repo_size "$t")"
		else
			status=1
			alive=$(echo "$alive" | sed "s/ $t//")
		fi
	done

	# --- the 1% change, applied in place as an editor or a database would -------
	say "applying the change (v1 -> v2) to $stage"
	while read -r p; do rm -f "$stage/$p"; done <"$corpus/deleted"
	while read -r p; do
		mkdir -p "$(dirname "$stage/$p")"
		cp -a "$corpus/v2/$p" "$stage/$p"
	done <"$corpus/changed"
	sh bench/backup/manifest.sh "$stage" >"$work/stage.manifest"
	if ! cmp -s "$corpus/v2.manifest" "$work/stage.manifest"; then
		say "internal: the staged tree differs from corpus v2 after the change:"
		diff "$corpus/v2.manifest" "$work/stage.manifest" | head -n 10 >&2
		exit 1
	fi

	# --- incremental, restore, check, forget, prune ---------------------------------
	for t in $alive; do
		if ! run_step "$t" backup2; then
			status=1
			continue
		fi
		put "$t" size2 "$(repo_size "$t")"
		put "$t" cache2 "$(cache_size "$t")"
		run_step "$t" snapshots || status=1
		# Each tool restores into its own directory, kept until the
		# end: ext4 skips inodes freed in the last minute when it
		# allocates, so a restore right after another tool's restored
		# tree was deleted ran 1.5 s slower (restic: 7.75-8.00 s
		# against 6.21-6.57 s).
		rm -rf "$work/restore-$t"
		mkdir "$work/restore-$t"
		if run_step "$t" restore; then
			if ! verify_restore "$t"; then
				put "$t" restore.wrong 1
				status=1
			fi
		else
			status=1
		fi
		run_step "$t" check || status=1
		if run_step "$t" forget; then
			run_step "$t" prune || status=1
		else
			status=1
		fi
		put "$t" size3 "$(repo_size "$t")"
	done
fi

# --- optional: prune's peak RSS at N and 10N snapshots -----------------------
random_stream() {
	k=$(printf 'sov-bench %s' "$1" | sha256sum | cut -c1-32)
	openssl enc -aes-128-ctr -nosalt -K "$k" -iv 00000000000000000000000000000000 \
		-in /dev/zero 2>/dev/null | head -c "$2"
}
# pscale_backup TOOL REPO G: snapshot G of the prune-scale source
pscale_backup() {
	case $1 in
	sov-backup) env SOV_BACKUP_REPO="$2" "$sov" backup "$work/psrc" ;;
	restic) restic -r "$2" backup -q "$work/psrc" ;;
	borg) borg create "$2::p$3" "$work/psrc" ;;
	esac
}
pscale_init() {
	case $1 in
	sov-backup) env SOV_BACKUP_REPO="$2" "$sov" init --kdf-memory "$PKDF_MIB" ;;
	restic) restic -r "$2" init ;;
	borg) borg init -e repokey-blake2 "$2" ;;
	esac
}
pscale_forget() {
	case $1 in
	sov-backup) env SOV_BACKUP_REPO="$2" "$sov" forget --keep-last "$3" ;;
	restic) restic -r "$2" forget --keep-last "$3" ;;
	borg) borg prune --keep-last "$3" "$2" ;;
	esac
}
pscale_prune() {
	case $1 in
	sov-backup) timed "$1" "$3" env SOV_BACKUP_REPO="$2" "$sov" prune ;;
	restic) timed "$1" "$3" restic -r "$2" prune ;;
	borg) timed "$1" "$3" borg compact "$2" ;;
	esac
}
if [ "$pscale" = 1 ]; then
	PG=${SOV_BENCH_PRUNE_GENS:-10}
	PF=${SOV_BENCH_PRUNE_FILES:-2000}
	for t in $alive; do
		# the same local cache and config as timed gives the tool's prune
		export XDG_CACHE_HOME="$work/cache/$t" XDG_CONFIG_HOME="$work/config/$t" \
			BORG_BASE_DIR="$work/config/$t"
		mkdir -p "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME"
		for mult in 1 10; do
			g_n=$((PG * mult))
			r=$work/prepo-$t-$mult
			say "$t: prune scale: $g_n snapshots of $PF new 2 KiB files each"
			if ! pscale_init "$t" "$r" >"$work/log/$t.pinit.out" 2>&1; then
				put "$t" pskip "init-failed"
				[ "$t" = sov-backup ] || status=1
				break
			fi
			g=1
			ok=1
			while [ $g -le $g_n ]; do
				rm -rf "$work/psrc"
				mkdir "$work/psrc"
				random_stream "prune $g" $((PF * 2048)) | split -b 2048 -a 6 - "$work/psrc/f"
				if ! pscale_backup "$t" "$r" "$g" >"$work/log/$t.pbackup.out" 2>&1; then
					say "$t: prune scale: backup $g failed"
					tail -n 3 "$work/log/$t.pbackup.out" | sed 's/^/    /' >&2
					ok=0
					break
				fi
				g=$((g + 1))
			done
			keep=$((g_n / 2))
			[ "$keep" -ge 1 ] || keep=1
			if [ $ok = 1 ] && pscale_forget "$t" "$r" "$keep" >"$work/log/$t.pforget.out" 2>&1; then
				put "$t" "psize$mult" "$(du -sb "$r" | cut -f1)"
				if ! pscale_prune "$t" "$r" "pprune$mult"; then
					put "$t" pskip "prune-failed"
					[ "$t" = sov-backup ] || status=1
				fi
			else
				put "$t" pskip "backup-or-forget-failed"
				[ "$t" = sov-backup ] || status=1
			fi
			rm -rf "$r" "$work/psrc"
			[ -z "$(get "$t" pskip)" ] || break
		done
	done
fi

# --- report -------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
case " $TOOLS " in *" restic "*) has_restic=1 ;; *) has_restic=0 ;; esac
echo
printf '%s cores, %s; load average at start: %s, at the end: %s\n' "$(nproc)" "$(uname -m)" \
	"$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$load_start" -v n="$(nproc)" 'BEGIN { if (a + 0 > n / 2)
	print "WARNING: the machine was busy at the start (load above half the cores): wall times are inflated; CPU seconds are the steadier figure" }'
printf 'restic: %s\n' "$(restic version 2>/dev/null | head -n 1 || echo -)"
printf 'borg: %s (repokey-blake2, default lz4; single-threaded by design)\n' "$(borg --version 2>/dev/null || echo -)"
if [ -x "$sov" ]; then printf 'sov-backup: %s (%s; key: Argon2id %s MiB, restic'"'"'s scrypt key: 32 MiB)\n' "$("$sov" --version 2>/dev/null | head -n 1)" "$sov" "$KDF_MIB"; fi
if [ "$cold" = 1 ]; then
	echo "page caches dropped before every step (cold reads); every step ends with sync"
else
	if [ "${SOV_BENCH_CACHE:-cold}" = warm ]; then
		echo "page caches NOT dropped (SOV_BENCH_CACHE=warm): the corpus and repositories were in the cache for all tools; every step ends with sync"
	else
		echo "page caches could NOT be dropped (not root or /proc read-only): caches were warm for all tools; every step ends with sync"
	fi
fi
echo "MiB = 2^20 bytes; throughput = corpus MiB / wall seconds; restic GOMAXPROCS default ($(nproc))"
if [ "$main" = 1 ]; then
	printf 'corpus %s MiB (%s files): ' "$(mib "$v1_bytes")" "$(awk '$1 == "total" { print $3 }' "$corpus/info")"
	awk '$1 ~ /^(src|db|bin)/ { printf "%s%s %.0f", sep, $1, $2 / 1048576; sep = ", " } END { print " MiB" }' "$corpus/info"
	awk -v t="$v1_bytes" '$1 == "changed" { f = $3 } $1 == "deleted" { d = $3 } $1 == "differing" { x = $2 }
		END { printf "change: %.1f MiB (%.2f%%) differs, in %d changed or new files, %d deleted\n", x / 1048576, 100 * x / t, f, d }' "$corpus/info"
	echo
	lim() { awk -v b="$1" -v s="$(get limit "$2.s")" 'BEGIN { if (s > 0) printf "%.0f MiB/s", b / 1048576 / s; else print "-" }'; }
	printf 'limit (no chunking, compression, encryption): read %s; read+BLAKE2b 1 core %s, 2 cores %s\n' \
		"$(lim "$v1_bytes" read)" "$(lim "$v1_bytes" b2sum1)" "$(lim "$v1_bytes" b2sum2)"
	echo

	# cell TOOL WHAT: one formatted value, or why there is none
	cell() {
		t=$1
		w=$2
		step=${w%.*}
		kind=${w##*.}
		if [ -n "$(get "$t" skip)" ]; then echo skipped; return; fi
		case $kind in
		s | mbs | rss | cpu)
			if [ -n "$(get "$t" "$step.fail")" ]; then echo "FAIL"; return; fi
			if [ "$step" = restore ] && [ -n "$(get "$t" restore.wrong)" ] && [ "$kind" = mbs ]; then
				echo WRONG
				return
			fi
			s=$(get "$t" "$step.s")
			[ -n "$s" ] || { echo -; return; }
			case $kind in
			s) echo "$s" ;;
			cpu) get "$t" "$step.cpu" ;;
			rss) awk -v k="$(get "$t" "$step.rss")" 'BEGIN { printf "%.1f", k / 1024 }' ;;
			mbs)
				b=$v1_bytes
				[ "$step" = backup1 ] || b=$v2_bytes
				awk -v b="$b" -v s="$s" 'BEGIN { if (s > 0) printf "%.1f", b / 1048576 / s; else print "inf" }' ;;
			esac
			;;
		size1 | size2 | size3 | cache2)
			v=$(get "$t" "$kind")
			if [ -n "$v" ]; then mib "$v"; else echo -; fi
			;;
		added)
			a=$(get "$t" size1)
			c=$(get "$t" size2)
			if [ -n "$a" ] && [ -n "$c" ]; then mib $((c - a)); else echo -; fi
			;;
		peak)
			awk -v t="$t" '$1 == t && $2 ~ /\.rss$/ && $2 !~ /^pprune/ && $3 > m { m = $3 }
				END { if (m) printf "%.1f", m / 1024; else print "-" }' "$res"
			;;
		esac
	}
	row() {
		label=$1
		w=$2
		printf '%-30s' "$label"
		for t in $TOOLS; do printf ' %12s' "$(cell "$t" "$w")"; done
		echo
	}
	printf '%-30s' "step"
	for t in $TOOLS; do printf ' %12s' "$t"; done
	echo
	row "init s" init.s
	row "backup initial s" backup1.s
	row "               MiB/s" backup1.mbs
	row "               CPU s" backup1.cpu
	row "               RSS MiB" backup1.rss
	row "backup +1% changed s" backup2.s
	row "               MiB/s" backup2.mbs
	row "               CPU s" backup2.cpu
	row "               RSS MiB" backup2.rss
	row "list snapshots s" snapshots.s
	row "               RSS MiB" snapshots.rss
	row "restore latest s" restore.s
	row "               MiB/s" restore.mbs
	row "               CPU s" restore.cpu
	row "               RSS MiB" restore.rss
	row "check --read-data s" check.s
	row "               MiB/s" check.mbs
	row "               CPU s" check.cpu
	row "               RSS MiB" check.rss
	row "forget first snapshot s" forget.s
	row "               RSS MiB" forget.rss
	row "prune s" prune.s
	row "               CPU s" prune.cpu
	row "               RSS MiB" prune.rss
	row "repo after initial MiB" x.size1
	row "repo after +1% MiB" x.size2
	row "  added by the +1% backup MiB" x.added
	row "repo after prune MiB" x.size3
	row "local cache + config MiB" x.cache2
	row "peak RSS, all steps MiB" x.peak
	echo "(borg: check = check --verify-data, forget = prune --keep-last 1, prune = compact)"

	# ratio TOOL WHAT: TOOL against restic; throughput as x (above 1: faster),
	# sizes and RSS as a fraction of restic's (below 1: smaller)
	ratio() {
		a=$(cell "$1" "$2")
		r=$(cell restic "$2")
		# $4: digits (the goals use 3, so 1.003x is not rounded to a met 1.00x)
		awk -v a="$a" -v r="$r" -v k="$3" -v d="${4:-2}" 'BEGIN {
			if (a !~ /^[0-9.]+$/ || r !~ /^[0-9.]+$/ || a + 0 == 0 || r + 0 == 0) { print "-"; exit }
			if (k == "time") printf "%.*fx\n", d, r / a; else printf "%.*fx\n", d, a / r }'
	}
	if [ "$has_restic" = 1 ]; then
		echo
		printf '%-30s' "against restic"
		for t in $TOOLS; do [ "$t" = restic ] || printf ' %12s' "$t"; done
		echo
		rrow() {
			printf '%-30s' "$1"
			for t in $TOOLS; do [ "$t" = restic ] || printf ' %12s' "$(ratio "$t" "$2" "$3")"; done
			echo
		}
		rrow "backup initial speed" backup1.mbs rate
		rrow "backup +1% speed" backup2.mbs rate
		rrow "restore speed" restore.mbs rate
		rrow "check --read-data speed" check.mbs rate
		rrow "prune speed (restic s / s)" prune.s time
		rrow "repo size after +1%" x.size2 size
		rrow "peak RSS, all steps" x.peak size
		rrow "peak RSS, initial backup" backup1.rss size
		rrow "CPU s, initial backup" backup1.cpu size
		rrow "CPU s, restore" restore.cpu size
	fi
fi

if [ "$pscale" = 1 ]; then
	echo
	printf 'prune at N = %s and 10N = %s snapshots (%s new 2 KiB files each; forget keeps the newest half;\n' \
		"$PG" $((PG * 10)) "$PF"
	printf 'sov-backup key with %s MiB of Argon2id memory):\n' "$PKDF_MIB"
	printf '%-30s' ""
	for t in $TOOLS; do printf ' %12s' "$t"; done
	echo
	prow() {
		printf '%-30s' "$1"
		for t in $TOOLS; do
			why=$(get "$t" skip)
			[ -n "$why" ] || why=$(get "$t" pskip)
			case $2 in
			size*) v=$(get "$t" "p$2"); [ -z "$v" ] || v=$(mib "$v") ;;
			*.rss) v=$(get "$t" "${2%.rss}.rss"); [ -z "$v" ] || v=$(awk -v k="$v" 'BEGIN { printf "%.1f", k / 1024 }') ;;
			*) v=$(get "$t" "$2") ;;
			esac
			[ -n "$v" ] || v=${why:--}
			printf ' %12s' "$v"
		done
		echo
	}
	prow "repo before prune, N MiB" size1
	prow "prune s, N" pprune1.s
	prow "prune RSS MiB, N" pprune1.rss
	prow "repo before prune, 10N MiB" size10
	prow "prune s, 10N" pprune10.s
	prow "prune RSS MiB, 10N" pprune10.rss
	printf '%-30s' "prune RSS 10N / N"
	for t in $TOOLS; do
		printf ' %12s' "$(awk -v a="$(get "$t" pprune1.rss)" -v b="$(get "$t" pprune10.rss)" \
			'BEGIN { if (a > 0 && b > 0) printf "%.2fx", b / a; else print "-" }')"
	done
	echo
fi

# --- the goals of issue 4 ---------------------------------------------------------
echo
echo "goals (sov-backup against restic, issue 4):"
goal() {
	v=$1
	if [ -z "$(get sov-backup skip)" ] && [ "$has_restic" = 1 ]; then
		verdict=$(awk -v v="$v" -v lim="$3" -v op="$4" 'BEGIN {
			if (v !~ /^[0-9.]+x$/) { print "not measured"; exit }
			v += 0; ok = (op == ">=") ? v >= lim : v <= lim
			print ok ? "met" : "NOT met" }')
	else
		verdict="not measured"
	fi
	printf '  %-50s %-8s %s\n' "$2" "$v" "$verdict"
}
if [ "$main" = 1 ]; then
	goal "$(ratio sov-backup backup1.mbs rate 3)" "initial backup >= 2x restic's throughput" 2 ">="
	goal "$(ratio sov-backup backup2.mbs rate 3)" "incremental backup >= 2x restic's throughput" 2 ">="
	goal "$(ratio sov-backup restore.mbs rate 3)" "restore >= 1.5x restic's throughput" 1.5 ">="
	goal "$(ratio sov-backup x.size2 size 3)" "repository <= restic's (after +1%)" 1 "<="
	goal "$(ratio sov-backup x.peak size 3)" "peak RSS <= 0.5x restic's (all steps)" 0.5 "<="
fi
if [ "$pscale" = 1 ]; then
	flat=$(awk -v a="$(get sov-backup pprune1.rss)" -v b="$(get sov-backup pprune10.rss)" \
		'BEGIN { if (a > 0 && b > 0) printf "%.3fx", b / a; else print "-" }')
	goal "$flat" "prune RSS at 10x the repository <= 1.25x" 1.25 "<="
else
	printf '  %-50s %-8s %s\n' "prune RSS flat at 10x the repository" - "not measured (SOV_BENCH_PRUNE_SCALE=1)"
fi
case "$(get sov-backup skip)" in
not-built) echo "sov-backup was skipped: $sov not found (make $sov)" ;;
init-failed) echo "sov-backup was skipped: 'sov-backup init' failed (see above)" ;;
esac

echo
echo "total run time: $(($(date +%s) - t_start)) s"
[ "$status" = 0 ] || echo "bench: FAILED (a step failed or a restore was wrong; details above)"
exit $status
