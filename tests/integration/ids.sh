#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Naming a session: "last", "last~N" and "@N", the whole ID, a unique prefix, a unique suffix
# (the random tail); an ambiguous one lists the candidates; an ID-shaped argument that names
# no session says how to name a path instead.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

ids=()
for i in 1 2 3; do
	al_run -- sh -c "echo $i > f$i" >/dev/null 2>&1
	ids+=("$(last_session)")
done
sid() { "$AIRLOCK" show --json "$1" 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["session"])'; }

is "$(sid last)" "${ids[2]}" "last names the newest session"
is "$(sid last~0)" "${ids[2]}" "last~0 is last"
is "$(sid last~1)" "${ids[1]}" "last~1 names the one before"
is "$(sid @2)" "${ids[0]}" "@2 names the third newest"
is "$(sid "${ids[1]}")" "${ids[1]}" "the whole ID"
is "$(sid "${ids[0]: -4}")" "${ids[0]}" "the random tail (a unique suffix)"
is "$(sid "${ids[2]:0:16}")" "${ids[2]}" "a unique prefix"

"$AIRLOCK" show "${ids[0]:0:2}" >/dev/null 2>"$T/amb.err"
is "$?" 1 "an ambiguous prefix is refused (1)"
check "the refusal lists the candidates" grep -q "ambiguous: ${ids[2]}, ${ids[1]}, ${ids[0]}" "$T/amb.err"
n=$(ls "$AIRLOCK_STATE_DIR/sessions" | wc -l)
"$AIRLOCK" show "@$n" >/dev/null 2>"$T/far.err"
is "$?" 1 "@N past the oldest session is refused"
check "and says how many there are" grep -q "only $n sessions" "$T/far.err"

touch cafe
"$AIRLOCK" diff cafe >/dev/null 2>"$T/path.err"
check "an ID-shaped argument is read as an ID, and the error says so" grep -q "was read as a session id: to name the path, put it after '--'" "$T/path.err"
out=$("$AIRLOCK" diff last -- cafe 2>&1)
case $out in
*"/cafe: not changed in session ${ids[2]}"*) ok "after '--' it is a path" ;;
*) not_ok "after '--' it is a path"; diag "$out" ;;
esac
"$AIRLOCK" show "$(printf 'x\033[31m')" >/dev/null 2>"$T/esc.err"
check "a name with control characters is shown escaped" sh -c "! grep -q \$(printf '\033') '$T/esc.err'"

done_testing
