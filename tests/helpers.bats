#!/usr/bin/env bats
# helpers.bats - the fault tools every other test leans on work as documented:
# tests/helpers/faultinject.c (LD_PRELOAD shim, SOV_FAULT rules) and
# tests/helpers/crash.sh (kill at random instants, check, replay by seed).
#
# The build is found through $SOV_BUILD (default build), relative to the repo
# root; the shim cases skip, saying why, when $SOV_BUILD/tests/faultinject.so
# is absent. A tiny C probe (compiled here with $CC, default cc) calls each
# wrapped function once and prints what happened.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load /usr/lib/bats/bats-file/load

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD=${SOV_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SO=$BUILD/tests/faultinject.so
TEST_FS=$BUILD/tests/test_fs
CRASH=$ROOT/tests/helpers/crash.sh
PROBE=$BATS_FILE_TMPDIR/fiprobe

setup_file() {
	command -v "${CC:-cc}" >/dev/null 2>&1 || return 0
	cat >"$BATS_FILE_TMPDIR/fiprobe.c" <<'EOF'
/* fiprobe OP ARGS: one wrapped call (or a few), its result on stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
fail(const char *what, const char *path)
{
	printf("fiprobe: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int
wopen(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
}

int
main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "", *a = argc > 2 ? argv[2] : "";
	int fd, i, n;
	char buf[64];
	ssize_t r;

	if (strcmp(op, "tries") == 0) { /* N writes, each result */
		n = atoi(argv[3]);
		if ((fd = wopen(a)) < 0)
			return fail("open", a);
		for (i = 1; i <= n; i++) {
			r = write(fd, "0123456789", 10);
			printf("%s%d:%s", i > 1 ? " " : "", i,
			       r == 10 ? "ok" : r < 0 ? strerror(errno) : "short");
		}
		printf("\n");
		return 0;
	}
	if (strcmp(op, "write") == 0) {
		if ((fd = wopen(a)) < 0)
			return fail("open", a);
		if (write(fd, "0123456789", 10) < 0)
			return fail("write", a);
		return close(fd) ? fail("close", a) : 0;
	}
	if (strcmp(op, "short") == 0) {
		if ((fd = wopen(a)) < 0)
			return fail("open", a);
		printf("write returned %zd\n", write(fd, "0123456789", 10));
		return 0;
	}
	if (strcmp(op, "pwrite") == 0) {
		if ((fd = wopen(a)) < 0)
			return fail("open", a);
		return pwrite(fd, "x", 1, 0) < 0 ? fail("pwrite", a) : 0;
	}
	if (strcmp(op, "read") == 0) {
		if ((fd = open(a, O_RDONLY)) < 0)
			return fail("open", a);
		if ((r = read(fd, buf, sizeof(buf))) < 0)
			return fail("read", a);
		printf("read %zd\n", r);
		return 0;
	}
	if (strcmp(op, "openat") == 0) {
		fd = openat(AT_FDCWD, a, O_RDONLY);
		return fd < 0 ? fail("openat", a) : 0;
	}
	if (strcmp(op, "open") == 0) {
		fd = open(a, O_RDONLY);
		return fd < 0 ? fail("open", a) : 0;
	}
	if (strcmp(op, "fsync") == 0 || strcmp(op, "fdatasync") == 0 ||
	    strcmp(op, "close") == 0) {
		if ((fd = wopen(a)) < 0)
			return fail("open", a);
		if (op[0] == 'f' && op[1] == 's')
			return fsync(fd) ? fail("fsync", a) : 0;
		if (op[0] == 'f')
			return fdatasync(fd) ? fail("fdatasync", a) : 0;
		n = close(fd);
		i = errno;
		printf("closed=%d\n", fcntl(fd, F_GETFD) < 0 && errno == EBADF);
		errno = i;
		return n ? fail("close", a) : 0;
	}
	if (strcmp(op, "rename") == 0)
		return rename(a, argv[3]) ? fail("rename", a) : 0;
	if (strcmp(op, "renameat") == 0)
		return renameat(AT_FDCWD, a, AT_FDCWD, argv[3])
			       ? fail("renameat", a) : 0;
	if (strcmp(op, "unlink") == 0)
		return unlink(a) ? fail("unlink", a) : 0;
	if (strcmp(op, "unlinkat") == 0)
		return unlinkat(AT_FDCWD, a, 0) ? fail("unlinkat", a) : 0;
	if (strcmp(op, "mkdir") == 0)
		return mkdir(a, 0755) ? fail("mkdir", a) : 0;
	if (strcmp(op, "stderr") == 0) /* exit 3 when stderr failed */
		return write(2, "to stderr\n", 10) < 0 ? 3 : 0;
	if (strcmp(op, "stdio") == 0) { /* does fflush reach the shim? */
		printf("via stdio\n");
		n = fflush(stdout);
		fprintf(stderr, "fflush=%d\n", n);
		return 0;
	}
	return 64;
}
EOF
	"${CC:-cc}" -std=c11 -O1 -o "$PROBE" "$BATS_FILE_TMPDIR/fiprobe.c"
}

need_shim() {
	[ -f "$SO" ] || skip "faultinject.so not built ($SO): make $BUILD/tests/faultinject.so"
	[ -x "$PROBE" ] || skip "no C compiler (${CC:-cc}) for the probe"
}

setup() {
	T=$BATS_TEST_TMPDIR
	export LC_ALL=C
}

# faulty RULES CMD...: run CMD with the shim and SOV_FAULT=RULES.
faulty() {
	local rules=$1
	shift
	run env LD_PRELOAD="$SO" SOV_FAULT="$rules" "$@"
}

# ---- faultinject.so: real programs ----------------------------------------

@test "shim: without SOV_FAULT nothing changes" {
	need_shim
	echo hello >"$T/src"
	run env LD_PRELOAD="$SO" cp "$T/src" "$T/dst"
	assert_success
	assert_files_equal "$T/src" "$T/dst"
	faulty "" dd if=/dev/zero of="$T/z" bs=1k count=4 status=none
	assert_success
	assert_file_size_equals "$T/z" 4096
}

@test "shim: dd fails with the injected ENOSPC and the exact message" {
	need_shim
	faulty write:ENOSPC:path=/out dd if=/dev/zero of="$T/out" bs=1k count=1 status=none
	assert_failure 1
	assert_output "dd: error writing '$T/out': No space left on device"
}

@test "shim: dd's fsync and fdatasync fail with EIO" {
	need_shim
	faulty fsync:EIO dd if=/dev/zero of="$T/out" bs=1k count=1 conv=fsync status=none
	assert_failure 1
	assert_output "dd: fsync failed for '$T/out': Input/output error"
	faulty fdatasync:EIO dd if=/dev/zero of="$T/out" bs=1k count=1 conv=fdatasync status=none
	assert_failure 1
	assert_output "dd: fdatasync failed for '$T/out': Input/output error"
}

@test "shim: after=N lets dd write N blocks first" {
	need_shim
	faulty write:EDQUOT:after=2:path=/out dd if=/dev/zero of="$T/out" bs=1k count=5 status=none
	assert_failure 1
	assert_output "dd: error writing '$T/out': Disk quota exceeded"
	assert_file_size_equals "$T/out" 2048
}

@test "shim: cp and mkdir report the injected open/mkdir errors" {
	need_shim
	echo hello >"$T/src"
	# coreutils 9 cp creates the target with openat(2): an open rule
	# does not see it, an openat rule does.
	faulty open:EACCES:path=/dst cp "$T/src" "$T/dst"
	assert_success
	rm "$T/dst"
	faulty openat:EACCES:path=/dst cp "$T/src" "$T/dst"
	assert_failure 1
	assert_output "cp: cannot create regular file '$T/dst': Permission denied"
	assert_file_not_exists "$T/dst"
	faulty mkdir:EROFS mkdir "$T/d"
	assert_failure 1
	assert_output "mkdir: cannot create directory '$T/d': Read-only file system"
	assert_dir_not_exists "$T/d"
}

# ---- faultinject.so: each call, through the probe --------------------------

@test "shim: write fails with the exact errno and message" {
	need_shim
	faulty write:ENOSPC "$PROBE" write "$T/f"
	assert_failure 1
	assert_output "fiprobe: write $T/f: No space left on device"
}

@test "shim: after=N and count=M" {
	need_shim
	faulty write:EIO:after=2 "$PROBE" tries "$T/f" 5
	assert_output "1:ok 2:ok 3:Input/output error 4:Input/output error 5:Input/output error"
	faulty write:EIO:count=2 "$PROBE" tries "$T/f" 5
	assert_output "1:Input/output error 2:Input/output error 3:ok 4:ok 5:ok"
	faulty write:EINTR:after=1:count=2 "$PROBE" tries "$T/f" 5
	assert_output "1:ok 2:Interrupted system call 3:Interrupted system call 4:ok 5:ok"
	assert_file_size_equals "$T/f" 30
}

@test "shim: path= matches the fd's file, and only it" {
	need_shim
	faulty write:EIO:path=/other "$PROBE" tries "$T/f" 2
	assert_output "1:ok 2:ok"
	faulty write:EIO:path=/f "$PROBE" tries "$T/f" 2
	assert_output "1:Input/output error 2:Input/output error"
	# Several rules: each its own path, its own errno.
	faulty "write:EIO:path=/a,write:ENOSPC:path=/b" "$PROBE" write "$T/b"
	assert_output "fiprobe: write $T/b: No space left on device"
	# path= on a path call: either rename argument matches.
	touch "$T/x"
	faulty rename:EXDEV:path=/nomatch "$PROBE" rename "$T/x" "$T/y"
	assert_success
	faulty rename:EXDEV:path=/x "$PROBE" rename "$T/y" "$T/x"
	assert_failure 1
	assert_file_exists "$T/y"
}

@test "shim: short writes half the bytes" {
	need_shim
	faulty write:short "$PROBE" short "$T/f"
	assert_output "write returned 5"
	assert_file_size_equals "$T/f" 5
}

@test "shim: every wrapped call can fail" {
	need_shim
	touch "$T/a"
	mkdir "$T/dir"
	faulty rename:EXDEV "$PROBE" rename "$T/a" "$T/b"
	assert_output "fiprobe: rename $T/a: Invalid cross-device link"
	assert_file_exists "$T/a"
	faulty renameat:EXDEV "$PROBE" renameat "$T/a" "$T/b"
	assert_output "fiprobe: renameat $T/a: Invalid cross-device link"
	faulty unlink:EACCES "$PROBE" unlink "$T/a"
	assert_output "fiprobe: unlink $T/a: Permission denied"
	assert_file_exists "$T/a"
	faulty unlinkat:EACCES "$PROBE" unlinkat "$T/a"
	assert_output "fiprobe: unlinkat $T/a: Permission denied"
	assert_file_exists "$T/a"
	faulty mkdir:ENOSPC "$PROBE" mkdir "$T/m"
	assert_output "fiprobe: mkdir $T/m: No space left on device"
	faulty open:ENOENT:path=/a "$PROBE" open "$T/a"
	assert_output "fiprobe: open $T/a: No such file or directory"
	faulty openat:EMFILE "$PROBE" openat "$T/a"
	assert_output "fiprobe: openat $T/a: Too many open files"
	# open and openat are separate rules.
	faulty open:EMFILE "$PROBE" openat "$T/a"
	assert_success
	faulty read:EIO "$PROBE" read "$T/a"
	assert_output "fiprobe: read $T/a: Input/output error"
	faulty pwrite:EFBIG "$PROBE" pwrite "$T/p"
	assert_output "fiprobe: pwrite $T/p: File too large"
	faulty fsync:EIO "$PROBE" fsync "$T/s"
	assert_output "fiprobe: fsync $T/s: Input/output error"
	faulty fdatasync:EIO "$PROBE" fdatasync "$T/s"
	assert_output "fiprobe: fdatasync $T/s: Input/output error"
}

@test "shim: close fails but really closes, as Linux does" {
	need_shim
	faulty close:EIO:path=/c "$PROBE" close "$T/c"
	assert_failure 1
	assert_line --index 0 "closed=1"
	assert_line --index 1 "fiprobe: close $T/c: Input/output error"
}

@test "shim: stderr is exempt unless path=/dev/stderr" {
	need_shim
	faulty write:EIO "$PROBE" stderr
	assert_success
	assert_output "to stderr"
	faulty write:EIO:path=/dev/stderr "$PROBE" stderr
	assert_failure 3
}

@test "shim: stdio's flush is not caught (known limit, header comment)" {
	need_shim
	# glibc's stdio calls its internal __write: fflush succeeds although
	# every write(2) through the exported symbol would fail.
	faulty write:EIO "$PROBE" stdio
	assert_success
	assert_line "via stdio"
	assert_line "fflush=0"
}

@test "shim: SOV_FAULT_LOG gets one line per injected fault" {
	need_shim
	run env LD_PRELOAD="$SO" SOV_FAULT=write:EIO:count=2:path=/f \
		SOV_FAULT_LOG="$T/log" "$PROBE" tries "$T/f" 3
	assert_output "1:Input/output error 2:Input/output error 3:ok"
	run cat "$T/log"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^faultinject\[[0-9]+\]: write\(fd [0-9]+ '$T/f'\) -> EIO \(rule 'write:EIO:count=2:path=/f'\)$"
}

@test "shim: an invalid SOV_FAULT is one line on stderr and exit 2" {
	need_shim
	local rule
	for rule in bogus:EIO write:EFOO write write:EIO:after=x \
		write:EIO:count=0 write:EIO:path= write:EIO:when=1 fsync:short \
		write::EIO write:EIO: "write:EIO,,read:EIO"; do
		faulty "$rule" /bin/true
		assert_failure 2
		assert_equal "${#lines[@]}" 1
		assert_output --partial "faultinject: SOV_FAULT: bad rule '"
	done
	faulty write:EFOO /bin/true
	assert_output "faultinject: SOV_FAULT: bad rule 'write:EFOO': unknown errno 'EFOO' (a name like ENOSPC, EIO, EXDEV, or 'short')"
	faulty "read:EIO,bogus:EIO:count=1" /bin/true
	assert_output --partial "bad rule 'bogus:EIO:count=1': unknown call 'bogus'"
}

# ---- crash.sh ------------------------------------------------------------

@test "crash.sh: kills the command at random instants" {
	local start=$SECONDS
	run "$CRASH" --rounds 3 --seed 42 --min-ms 20 --max-ms 60 --check true -- sleep 10
	assert_success
	assert_line "crash.sh: seed 42, 3 rounds, delay 20..60 ms"
	assert_line --regexp "^crash.sh: round 1: delay [0-9]+ ms: killed$"
	assert_line --regexp "^crash.sh: round 3: delay [0-9]+ ms: killed$"
	assert_line "crash.sh: 3 rounds, 3 killed mid-run, all checks passed"
	[ $((SECONDS - start)) -lt 8 ]
}

@test "crash.sh: a command that finished first still counts as a round" {
	run "$CRASH" --rounds 2 --seed 5 --min-ms 300 --max-ms 300 --check true -- true
	assert_success
	assert_line "crash.sh: round 1: delay 300 ms: finished before the kill (exit 0)"
	assert_line "crash.sh: 2 rounds, 0 killed mid-run, all checks passed"
	run "$CRASH" --rounds 1 --seed 5 --min-ms 300 --max-ms 300 --check true -- sh -c 'exit 7'
	assert_success
	assert_line "crash.sh: round 1: delay 300 ms: finished before the kill (exit 7)"
}

@test "crash.sh: a failing check gives the replay seed and exits 1" {
	run "$CRASH" --rounds 5 --seed 42 --max-ms 30 --check '[ "$CRASH_ROUND" -lt 2 ]' -- sleep 10
	assert_failure 1
	assert_line --regexp "^crash.sh: round 2 failed \(seed 42, delay [0-9]+ ms, check exit 1\); replay: .*crash.sh --seed 43 --rounds 1 --min-ms 0 --max-ms 30 --check .* -- sleep 10$"
	refute_line --partial "round 3"
	refute_line --partial "all checks passed"
}

@test "crash.sh: the same seed gives the same delays, the replay line too" {
	run "$CRASH" --rounds 6 --seed 1234 --min-ms 0 --max-ms 40 --check true -- true
	assert_success
	local first=$(printf '%s\n' "${lines[@]}" | grep -o 'round [0-9]*: delay [0-9]* ms')
	run "$CRASH" --rounds 6 --seed 1234 --min-ms 0 --max-ms 40 --check true -- true
	local second=$(printf '%s\n' "${lines[@]}" | grep -o 'round [0-9]*: delay [0-9]* ms')
	assert_equal "$second" "$first"
	run "$CRASH" --rounds 6 --seed 1235 --min-ms 0 --max-ms 40 --check true -- true
	local other=$(printf '%s\n' "${lines[@]}" | grep -o 'round [0-9]*: delay [0-9]* ms')
	assert_not_equal "$other" "$first"

	# Round 4 fails; the printed replay line, run as is, has its delay.
	run "$CRASH" --rounds 6 --seed 1234 --min-ms 0 --max-ms 40 --check '[ "$CRASH_ROUND" != 4 ]' -- true
	assert_failure 1
	local want=$(printf '%s\n' "$first" | sed -n 's/^round 4: delay \([0-9]*\) ms$/\1/p')
	assert_line --partial "round 4 failed (seed 1234, delay $want ms"
	local replay=$(printf '%s\n' "${lines[@]}" | sed -n 's/.*; replay: //p')
	run eval "$replay"
	assert_success
	assert_line --regexp "^crash.sh: round 1: delay $want ms: "
}

@test "crash.sh: the whole process group dies" {
	# The background sleep is gone (or a zombie waiting for init) by the
	# time the check runs.
	run "$CRASH" --rounds 2 --seed 9 --min-ms 300 --max-ms 300 \
		--check "s=\$(ps -o stat= -p \$(cat '$T/pid')); [ -z \"\$s\" ] || [ \"\${s#Z}\" != \"\$s\" ]" \
		-- sh -c "sleep 30 & echo \$! >'$T/pid'; wait"
	assert_success
	assert_line "crash.sh: 2 rounds, 2 killed mid-run, all checks passed"
}

@test "crash.sh: CRASH_ROUND reaches setup, command and check" {
	run "$CRASH" --rounds 2 --seed 3 --min-ms 400 --max-ms 400 \
		--setup "echo setup \$CRASH_ROUND >>'$T/log'" \
		--check "echo check \$CRASH_ROUND >>'$T/log'" \
		-- sh -c "echo cmd \$CRASH_ROUND >>'$T/log'"
	assert_success
	run cat "$T/log"
	assert_output "$(printf 'setup 1\ncmd 1\ncheck 1\ncmd 2\ncheck 2')"
	rm "$T/log"
	run "$CRASH" --rounds 2 --seed 3 --min-ms 400 --max-ms 400 --setup-each \
		--setup "echo setup \$CRASH_ROUND >>'$T/log'" \
		--check "echo check \$CRASH_ROUND >>'$T/log'" \
		-- sh -c "echo cmd \$CRASH_ROUND >>'$T/log'"
	assert_success
	run cat "$T/log"
	assert_output "$(printf 'setup 1\ncmd 1\ncheck 1\nsetup 2\ncmd 2\ncheck 2')"
}

@test "crash.sh: the default seed comes from the clock and is printed" {
	run "$CRASH" --rounds 1 --max-ms 10 --check true -- true
	assert_success
	assert_line --regexp "^crash.sh: seed [0-9]+, 1 rounds, delay 0..10 ms$"
}

@test "crash.sh: a failing setup stops it with exit 1" {
	run "$CRASH" --rounds 2 --setup false --check true -- true
	assert_failure 1
	assert_line --partial "crash.sh: round 1: setup failed (exit 1)"
}

@test "crash.sh: usage errors exit 2" {
	run "$CRASH" --rounds 2 -- true
	assert_failure 2
	assert_line "crash.sh: --check CMD is required"
	run "$CRASH" --rounds x --check true -- true
	assert_failure 2
	run "$CRASH" --rounds 0 --check true -- true
	assert_failure 2
	run "$CRASH" --seed -1 --check true -- true
	assert_failure 2
	run "$CRASH" --min-ms 50 --max-ms 10 --check true -- true
	assert_failure 2
	assert_line "crash.sh: --min-ms 50 is over --max-ms 10"
	run "$CRASH" --check true
	assert_failure 2
	assert_line "crash.sh: no COMMAND after --"
	run "$CRASH" --bogus --check true -- true
	assert_failure 2
}

@test "crash.sh + sov_file_write_atomic: a kill at any instant leaves a whole file" {
	[ -x "$TEST_FS" ] || skip "test_fs not built ($TEST_FS)"
	# test_fs --child loop rewrites f with sov_file_write_atomic until
	# killed; every version is "v=N", 8000 times letter N%26, "end".
	cat >"$T/setup" <<END
rm -rf '$T/d' && mkdir '$T/d' &&
{ echo v=0; head -c 8000 /dev/zero | tr '\\0' a; printf '\\nend\\n'; } >'$T/d/f'
END
	cat >"$T/check" <<'END'
awk 'NR == 1 { if ($0 !~ /^v=[0-9]+$/) exit 1
	c = sprintf("%c", 97 + substr($0, 3) % 26) }
NR == 2 { if (length($0) != 8000) exit 1; gsub(c, ""); if ($0 != "") exit 1 }
NR == 3 { ok = ($0 == "end") }
END { exit !(ok && NR == 3) }' "$1/f"
END
	run bash "$T/setup"
	assert_success
	run bash "$T/check" "$T/d"
	assert_success
	run "$CRASH" --rounds 20 --seed 77 --min-ms 5 --max-ms 60 --setup-each \
		--setup "bash '$T/setup'" --check "bash '$T/check' '$T/d'" \
		-- "$TEST_FS" --child loop "$T/d/f"
	assert_success
	assert_line --regexp "^crash.sh: 20 rounds, (1[0-9]|20) killed mid-run, all checks passed$"
	# The check can fail: a torn file is caught.
	head -c 100 "$T/d/f" >"$T/d/torn" && mv "$T/d/torn" "$T/d/f"
	run bash "$T/check" "$T/d"
	assert_failure
}
