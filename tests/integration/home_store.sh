#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The store where users have it: under $HOME (~/.local/state/airlock), with the working
# directory there too. For an unprivileged user /home is a directory it cannot change, which
# the sandbox shows as a read-only view whose empty bottom layer lives in the session, inside
# /home: overlayfs refused that as overlapping layers and no run could start. The other
# suites keep their store under /tmp, so only this one covers it.
. "$(dirname "$0")/../lib.sh"
require_sandbox

store=$HOME/.airlock-test-store.$$
work=$HOME/.airlock-test-work.$$
cleanup_home() { chmod -R u+rwX "$store" "$work" 2>/dev/null; rm -rf "$store" "$work"; }
trap 'cleanup_home; cleanup_scratch' EXIT
mkdir -p "$work" || exit 1
cd "$work" || exit 1
export AIRLOCK_STATE_DIR=$store

parent=$(dirname "$HOME")
if [ "$(id -u)" -ne 0 ] && [ ! -w "$parent" ]; then
	diag "$parent is not writable by $(id -un): the sandbox shows it as a read-only view"
fi

out=$("$AIRLOCK" run --review never -- sh -c 'echo made > made.txt; cat made.txt' 2>"$T/err")
rc=$?
is "$rc" 0 "a run with the store under \$HOME ($HOME) starts and exits 0"
is "$out" made "its command ran and read what it wrote"
grep -q "overlapping\|Too many levels" "$T/err" && not_ok "no overlayfs error: $(cat "$T/err")"
id=$("$AIRLOCK" list --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[-1]["session"])')
check "its change is held in the session" sh -c "'$AIRLOCK' show '$id' | grep -q made.txt"
check "and not on the host" test ! -e "$work/made.txt"
check "commit applies it" "$AIRLOCK" commit "$id" --all
is "$(cat "$work/made.txt" 2>/dev/null)" made "the host has the file after commit"

# A live session in the same place: start, exec, stop.
sid=$("$AIRLOCK" start 2>"$T/err.start" | tail -1)
check "start with the store under \$HOME" test -n "$sid"
is "$("$AIRLOCK" exec "$sid" -- cat made.txt 2>/dev/null)" made "exec in it sees the committed file"
check "stop seals it" "$AIRLOCK" stop "$sid"
done_testing
