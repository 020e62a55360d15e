#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/airlock_client.py: live sessions (start, exec, stop, changes), the approver
# protocol (asks answered by a Python function), run(), and that nothing reaches the host.
# The checks are in pyclient_test.py.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

"$PY" "$TESTS_DIR/integration/pyclient_test.py" "$AIRLOCK" "$T" >"$T/py.out" 2>"$T/py.err"
rc=$?
n=0
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }"; n=$((n + 1)) ;;
	"FAIL "*) not_ok "${line#FAIL }"; n=$((n + 1)) ;;
	esac
done <"$T/py.out"
is "$rc" 0 "the client's tests ran to the end"
[ "$rc" = 0 ] || diag "$(tail -5 "$T/py.err" | tr '\n' '|')"
check "they ran every check" test "$n" -ge 20
done_testing
