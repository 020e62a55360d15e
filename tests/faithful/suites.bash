# SPDX-License-Identifier: MIT
# The faithfulness suites: other projects' own test suites, as Debian ships them, run bare and
# inside airlock. tests/faithful/*.sh compare each test's result; bench/run times them.
# Sourced (bash). Each suite NAME in FAITHFUL_SUITES has:
#   suite_NAME_missing       prints why it cannot run here (a package not installed), or nothing
#   suite_NAME_prepare DIR   untimed set-up in DIR, a directory of the caller's (Go compiles here)
#   suite_NAME_run DIR CMD...  runs the whole suite as one command, with CMD... (empty: bare;
#                            `airlock run --review never --`: inside) before it; raw output
#   suite_NAME_results       reads that raw output on stdin; prints "pass|fail|skip ID" lines
# The run is one command, so that the inside run is one sandbox, as a person would run it. Every
# run gets its own TMPDIR below DIR: some tests use fixed names in it.

FAITHFUL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # bench/run reads it
FAITHFUL_SUITES="python glib go"

# --- CPython's standard library tests (libpython3.11-testsuite) ---
# The modules about files, directories, processes and descriptors, where a sandbox shows.
FAITHFUL_PY=/usr/bin/python3.11
FAITHFUL_PY_MODULES="test_os test_shutil test_tempfile test_pathlib test_glob test_posix
test_stat test_fcntl test_fileinput test_filecmp test_pty test_mmap"

suite_python_missing() {
	[ -x "$FAITHFUL_PY" ] || { echo "$FAITHFUL_PY is not installed"; return; }
	[ -f /usr/lib/python3.11/test/test_os.py ] ||
		echo "CPython's tests are not installed (Debian package libpython3.11-testsuite)"
}
suite_python_prepare() { :; }
suite_python_run() {
	local dir=$1
	shift
	# shellcheck disable=SC2086
	run_in_tmp "$dir" "$@" "$FAITHFUL_PY" "$FAITHFUL_DIR/pyunit.py" $FAITHFUL_PY_MODULES
}
suite_python_results() { sed -n 's/^@faithful //p' | sort; }

# --- GLib's installed tests (libglib2.0-tests): GIO files and streams, spawning, key files
FAITHFUL_GLIB=/usr/libexec/installed-tests/glib
FAITHFUL_GLIB_TESTS="fileutils file g-file g-file-info live-g-file spawn-singlethread
spawn-path-search unix-streams readwrite mappedfile io-stream keyfile dir contenttype trash
unix-mounts fileattributematcher filter-streams memory-output-stream buffered-output-stream
data-input-stream"

suite_glib_missing() {
	[ -x "$FAITHFUL_GLIB/fileutils" ] ||
		echo "GLib's installed tests are not installed (Debian package libglib2.0-tests)"
}
suite_glib_prepare() { :; }
# Each program prints TAP; a line "@faithful-program NAME" before it and "@faithful-exit NAME
# STATUS" after it tell the programs apart. As root, the tests that assert that a change is
# refused are left out: bare, root is not refused, and they would change the host (fileutils
# makes /usr/b/c) or abort the rest of their program (file's replace).
suite_glib_run() {
	local dir=$1
	shift
	local skips=
	[ "$(id -u)" = 0 ] &&
		skips="-s /fileutils/mkdir-with-parents -s /file/replace/write-only -s /file/replace/read-write"
	# shellcheck disable=SC2016,SC2086 # the list is words
	run_in_tmp "$dir" "$@" /bin/sh -c '
		dir=$1 skips=$2
		shift 2
		for t in "$@"; do
			echo "@faithful-program $t"
			"$dir/$t" --tap $skips </dev/null 2>&1
			echo "@faithful-exit $t $?"
		done' sh "$FAITHFUL_GLIB" "$skips" $FAITHFUL_GLIB_TESTS
}
suite_glib_results() {
	awk '
	/^@faithful-program / { prog = $2; next }
	/^@faithful-exit / { print ($3 == 0 ? "pass" : "fail"), $2 ":exit-status-" $3; next }
	/^ok [0-9]+ / {
		name = $3
		print (index($0, "# SKIP") ? "skip" : "pass"), prog ":" name; next
	}
	/^not ok [0-9]+ / { print "fail", prog ":" $4; next }
	/^Bail out!/ { print "fail", prog ":bail-out"; next }
	' | sort
}

# --- Go's standard library tests (golang-1.19-src): os, os/exec, path/filepath, io/fs ---
# Compiled bare before the runs (untimed, cached by the Go build cache); each binary then runs in
# its package's source directory, as `go test` runs it, with -test.short as in Go's own quick runs.
FAITHFUL_GOROOT=/usr/lib/go-1.19
FAITHFUL_GO_PKGS="os os/exec path/filepath io/fs"

suite_go_missing() {
	[ -x "$FAITHFUL_GOROOT/bin/go" ] ||
		{ echo "Go 1.19 is not installed (Debian package golang-1.19-go)"; return; }
	[ -f "$FAITHFUL_GOROOT/src/os/os_test.go" ] ||
		echo "Go's library sources are not installed (Debian package golang-1.19-src)"
}
suite_go_prepare() {
	local dir=$1 p
	for p in $FAITHFUL_GO_PKGS; do
		GOTOOLCHAIN=local GOFLAGS='' GO111MODULE='' CGO_ENABLED=1 \
			"$FAITHFUL_GOROOT/bin/go" test -c -o "$dir/go-${p//\//_}.test" "$p" || return 1
	done
}
suite_go_run() {
	local dir=$1
	shift
	# shellcheck disable=SC2016,SC2086 # the list is words
	run_in_tmp "$dir" "$@" /bin/sh -c '
		dir=$1 src=$2
		shift 2
		for p in "$@"; do
			echo "@faithful-program $p"
			(cd "$src/$p" && "$dir/go-$(echo "$p" | tr / _).test" -test.v -test.short \
				</dev/null 2>&1)
			echo "@faithful-exit $p $?"
		done' sh "$dir" "$FAITHFUL_GOROOT/src" $FAITHFUL_GO_PKGS
}
suite_go_results() {
	awk '
	/^@faithful-program / { prog = $2; next }
	/^@faithful-exit / { print ($3 == 0 ? "pass" : "fail"), $2 ":exit-status-" $3; next }
	/^ *--- (PASS|FAIL|SKIP): / {
		st = ($2 == "PASS:" ? "pass" : ($2 == "FAIL:" ? "fail" : "skip"))
		print st, prog ":" $3; next
	}
	' | sort
}

# run_in_tmp DIR CMD...: CMD in a directory of its own below DIR, which is also its TMPDIR, with
# the same small environment bare and inside (airlock's scrub then changes nothing: a test that
# reads a variable sees the same value both ways; AIRLOCK_STATE_DIR is for airlock itself), and
# only descriptors 0-2, which is all a program inside gets (Go's os/exec tests skip otherwise).
run_in_tmp() {
	local dir=$1 tmp
	shift
	tmp=$(mktemp -d "$dir/tmp.XXXXXX") || return 1
	(
		for fd in "/proc/$BASHPID/fd/"*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		cd "$tmp" && exec env -i HOME="$HOME" USER="$(id -un)" LOGNAME="$(id -un)" \
		PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TMPDIR="$tmp" \
		${AIRLOCK_STATE_DIR:+AIRLOCK_STATE_DIR="$AIRLOCK_STATE_DIR"} "$@"
	)
}

# faithful_round NAME K: run the suite bare, then inside; results in $T/NAME/{bare,inside}.K.res,
# wall times in $T/NAME/times.K.
faithful_round() {
	local name=$1 k=$2 d=$T/$1 t0 t1 t2
	t0=$EPOCHREALTIME
	"suite_${name}_run" "$d" >"$d/bare.$k.out" 2>"$d/bare.$k.err"
	t1=$EPOCHREALTIME
	"suite_${name}_run" "$d" "$AIRLOCK" run --review never -- >"$d/inside.$k.out" \
		2>"$d/inside.$k.err"
	t2=$EPOCHREALTIME
	"suite_${name}_results" <"$d/bare.$k.out" >"$d/bare.$k.res"
	"suite_${name}_results" <"$d/inside.$k.out" >"$d/inside.$k.res"
	awk -v a="$t0" -v b="$t1" -v c="$t2" \
		'BEGIN { printf "bare %.1fs, inside %.1fs (%.2fx)\n", b - a, c - b, (c - b) / (b - a) }' \
		>"$d/times.$k"
}

# faithful_diff NAME K...: compare the rounds K...; a test differs only when it differs in every
# round (a timing-dependent test that fails once under load is not airlock's doing). Prints
# "same TOTAL DIFFERING" and "expected TOTAL WRONG", each followed by "# " lines that say which.
faithful_diff() {
	local name=$1 k args=()
	shift
	for k in "$@"; do args+=("$T/$name/bare.$k.res" "$T/$name/inside.$k.res"); done
	"$PY" - "$name" "$(id -u)" "$FAITHFUL_DIR/expected" "${args[@]}" <<'PY'
import sys
name, uid, expected = sys.argv[1:4]
who = "root" if uid == "0" else "user"
def load(p):
    return dict(reversed(l.rstrip("\n").split(" ", 1)) for l in open(p) if " " in l)
rounds = [(load(a), load(b)) for a, b in zip(sys.argv[4::2], sys.argv[5::2])]
exp = {}
for line in open(expected):
    f = line.split(None, 4)
    if len(f) >= 4 and not line.startswith("#") and f[0] == name and f[1] in (who, "any"):
        exp[f[3]] = f[2]
diff = bad = None
for b, i in rounds:
    d = {t for t in set(b) | set(i) if t not in exp and b.get(t) != i.get(t)}
    w = {t for t in exp if i.get(t, "missing") != exp[t]}
    diff, bad = (d, w) if diff is None else (diff & d, bad & w)
b, i = rounds[-1]
print("same %d %d" % (len((set(b) | set(i)) - set(exp)), len(diff)))
for t in sorted(diff)[:40]:
    print("# %s: bare %s, inside %s" % (t, b.get(t, "missing"), i.get(t, "missing")))
print("expected %d %d" % (len(exp), len(bad)))
for t in sorted(bad):
    print("# %s: inside %s, documented %s" % (t, i.get(t, "missing"), exp[t]))
PY
}

# faithful_compare NAME: the test body of tests/faithful/NAME.sh (TAP through tests/lib.sh): the
# suite bare, then inside, each test's result compared; when some differ, a second round tells
# a real difference (in both rounds) from a flaky test. The differences airlock(1) documents
# are listed in tests/faithful/expected with the result they must have inside.
faithful_compare() {
	local name=$1 d=$T/$1 why n tot nd ne nb
	why=$("suite_${name}_missing")
	if [ -n "$why" ]; then
		skip "$name: the suite runs inside as bare" "$why"
		return
	fi
	mkdir -p "$d" && chmod 755 "$d"
	if ! "suite_${name}_prepare" "$d" >"$d/prepare.out" 2>&1; then
		not_ok "$name: the suite is prepared"
		diag "$(tail -5 "$d/prepare.out")"
		return
	fi
	faithful_round "$name" 1
	n=$(grep -c '^pass ' "$d/bare.1.res")
	if [ "$n" -ge 20 ]; then ok "$name: $n tests pass bare"; else
		not_ok "$name: the suite runs bare"; diag "$(tail -5 "$d/bare.1.err")"; fi
	faithful_diff "$name" 1 >"$d/diff"
	if grep -q '^#' "$d/diff"; then
		diag "$name: in round 1 (a second round sets flaky tests apart):"
		grep '^#' "$d/diff" | head -10
		faithful_round "$name" 2
		faithful_diff "$name" 1 2 >"$d/diff"
	fi
	read -r _ tot nd < <(grep '^same ' "$d/diff")
	read -r _ ne nb < <(grep '^expected ' "$d/diff")
	if [ "${nd:-1}" = 0 ]; then ok "$name: each of $tot tests has its bare result inside"; else
		not_ok "$name: each test has its bare result inside ($nd differ)"
		sed -n '/^same /,/^expected /p' "$d/diff" | grep '^#'
	fi
	if [ "${nb:-1}" = 0 ]; then ok "$name: the $ne documented differences hold"; else
		not_ok "$name: the documented differences hold ($nb do not)"
		sed -n '/^expected /,$p' "$d/diff" | grep '^#'
	fi
	diag "$name: $(cat "$d/times.1")"
}
