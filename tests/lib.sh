# SPDX-License-Identifier: MIT
# Shared helpers for the shell test suites: TAP output, a private store, the airlock binary.
# Each test script sources this file; it prints "ok N - ..." / "not ok N - ..." lines.

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$TESTS_DIR/.." && pwd)
BUILD=${AIRLOCK_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
AIRLOCK=${AIRLOCK:-$BUILD/airlock}
HELPERS=${AIRLOCK_HELPERS:-$BUILD/helpers}
PY=${PYTHON:-/usr/bin/python3}

# A scratch area per script, under /tmp so both root and the unprivileged user can use it.
T=$(mktemp -d /tmp/airlock-test.XXXXXX)
chmod 755 "$T"
export AIRLOCK_STATE_DIR=$T/state
# diff, log and show page on a terminal (script(1) is one): a test that wants a pager says so.
export AIRLOCK_PAGER=cat
mkdir -p "$T/work"

tap_n=0
tap_fail=0

# Processes a test started, by a unique pattern in their command line: reaped on exit, so a
# failed test leaves nothing running. running/gone PATTERN test for them.
tags=()
running() { pgrep -f -- "$1" >/dev/null; }
gone() { ! pgrep -f -- "$1" >/dev/null; }
reap() {
	local p
	for p in $(pgrep -f -- "$1"); do
		kill -9 "$p" 2>/dev/null
	done
}

cleanup_scratch() {
	local tag
	for tag in "${tags[@]}"; do
		reap "$tag"
	done
	chmod -R u+rwX "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup_scratch EXIT

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_fail=$((tap_fail + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
diag() { echo "# $*"; }

# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "got:  '$1'"
		diag "want: '$2'"
	fi
}

# wait_for TIMEOUT_SECONDS CMD...: poll CMD until it succeeds; never a fixed sleep.
wait_for() {
	local limit=$1 start
	shift
	start=$(date +%s%N)
	while ! "$@"; do
		if [ $(( ($(date +%s%N) - start) / 1000000000 )) -ge "$limit" ]; then
			return 1
		fi
		sleep 0.05
	done
}

# in_project: a fresh directory $T/proj, as $P, made the current one.
in_project() {
	P=$T/proj
	mkdir -p "$P" && cd "$P" || exit 1
}

# al_run ARGS... : airlock run with the review off; stdout/stderr pass through.
al_run() { "$AIRLOCK" run --review never "$@"; }

# The newest session's id.
last_session() { "$AIRLOCK" show --json last | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["session"])'; }

# json_get FILE-or-- EXPR: evaluate a Python expression on the parsed JSON `j`.
json_get() {
	local src=$1
	shift
	if [ "$src" = - ]; then
		"$PY" -c "import json,sys; j=json.load(sys.stdin); print($1)"
	else
		"$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$src"
	fi
}

# jf NAME EXPR [ARG...]: EXPR on the parsed JSON in $T/NAME.json (as j; ARGs in sys.argv[3:]),
# or "<no json: ...>" when it does not parse.
jf() {
	"$PY" - "$T/$1.json" "$2" "${@:3}" <<'PY' 2>&1
import json, sys
try:
    j = json.loads(open(sys.argv[1], encoding="utf-8", errors="replace").read())
except ValueError as e:
    print("<no json: %s>" % e)
    sys.exit(0)
print(eval(sys.argv[2]))
PY
}

# Skip (or, under AIRLOCK_MUST_WORK=1, fail) when the sandbox cannot start on this kernel.
require_sandbox() {
	local out
	if out=$("$AIRLOCK" run --review never -- /bin/true 2>&1); then
		return 0
	fi
	skip "sandbox available" "airlock run cannot start here: $out"
	echo "1..$tap_n"
	exit 0
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_fail" -eq 0 ]
}
