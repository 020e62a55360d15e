#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A deferred command runs as the person approved it: the program sets LD_PRELOAD,
# GIT_CONFIG_*, PATH, BASH_ENV and PYTHONPATH on the commands it defers (each enough to turn
# the approved command into anything); approved with `commit --run N` or in the review,
# they run on the host in the person's environment, and none of those take effect. show, the
# review and the commit output say which program runs and where.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
M=$T/marks # what a hijack would leave on the host
mkdir -p "$P" "$M" "$T/evilbin" "$T/evilpy"
# What the program points its variables at (as if committed or left on the host earlier).
printf '#!/bin/sh\ntouch %s/path\n' "$M" >"$T/evilbin/mytool"
chmod 755 "$T/evilbin/mytool"
printf 'touch %s/bash_env\n' "$M" >"$T/evil.sh"
printf 'open("%s/pythonpath", "w").close()\n' "$M" >"$T/evilpy/evilmod.py"
have_cc=false
if command -v cc >/dev/null &&
	printf '#include <fcntl.h>\n__attribute__((constructor)) static void hijack(void) { open("%s/preload", O_CREAT | O_WRONLY, 0644); }\n' "$M" |
	cc -shared -fPIC -x c -o "$T/evil.so" - 2>/dev/null; then
	have_cc=true
fi
chmod -R a+rX "$T"

cat >"$T/defer.rules" <<'RULES'
defer exec git
defer exec bash
defer exec env
defer exec python3
RULES
cat >"$T/agent.sh" <<EOF2
GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=alias.st GIT_CONFIG_VALUE_0='!touch $M/git_config' git st
BASH_ENV=$T/evil.sh bash -c 'echo "[\$PROG_VAR][\$PERSON_VAR]" >seen-env'
PATH=$T/evilbin:\$PATH bash -c 'mytool; echo ran >ran-path'
LD_PRELOAD=$T/evil.so env true
PYTHONPATH=$T/evilpy python3 -c 'import evilmod'
PROG_VAR=chosen-by-the-program bash -c 'echo "[\$PROG_VAR][\$PERSON_VAR]" >seen-env2'
echo done >done.txt
EOF2
cd "$P" || exit 1
al_run -r "$T/defer.rules" -- /bin/sh "$T/agent.sh" >/dev/null 2>"$T/run.err"
ID=$(last_session)
is "$("$AIRLOCK" show --json "$ID" | json_get - 'any(c["path"].endswith("/done.txt") for c in j["changes"])')" True \
	"the program finished (its deferred commands seemed to succeed)"
is "$(ls "$M" | paste -sd' ')" "" "nothing ran in the sandbox"
is "$("$AIRLOCK" show --json "$ID" | json_get - 'len([c for c in j["commands"] if c.get("deferred")])')" 6 \
	"six deferred commands"
is "$("$AIRLOCK" show --json "$ID" | json_get - '",".join(sorted({c["cwd"] for c in j["commands"] if c.get("deferred")}))')" \
	"$P" "show --json gives each deferred command its cwd"

"$AIRLOCK" show "$ID" >"$T/show" 2>&1
check "show names the program and the directory a deferred command runs in" \
	grep -qE "^ +runs /.*/git in $P, with your environment" "$T/show"

# The review: the commands view's status row and the commit summary say what runs, where.
. "$TESTS_DIR/ui/screen.bash"
ui '<Tab>j<Dump>ac<Dump>nq'
check "review: a deferred command's row says where it runs and with which environment" \
	grep -qE "runs /.*/git in T/proj, with your environment" <(screen 1)
check "review: the commit summary lists the approved deferred command with its program and cwd" \
	grep -qE "#1 git st +\(/.*/git in T/proj\)" <(screen 2)
check "review: ... and says they run in the person's environment" \
	grep -q "with your environment:" <(screen 2)

export PERSON_VAR=the-persons
"$AIRLOCK" commit "$ID" --all --run 1 --run 2 --run 3 --run 4 --run 5 --run 6 >"$T/out" 2>"$T/err"
diag "commit exit status $? (a hijack-free git st fails: not a git command)"
check "the files were committed" test -f "$P/done.txt"
check "commit --run prints each command's program and directory before it runs" \
	grep -qE "program /.*/bash, in $P, with your environment" "$T/err"
check "GIT_CONFIG_* set by the program did not reach git" test ! -e "$M/git_config"
check "BASH_ENV set by the program was not sourced" test ! -e "$M/bash_env"
check "PATH set by the program was not searched" test ! -e "$M/path"
check "... the command ran with the person's PATH" test -e "$P/ran-path"
if $have_cc; then
	check "LD_PRELOAD set by the program was not loaded" test ! -e "$M/preload"
else
	skip "LD_PRELOAD set by the program was not loaded" "no C compiler for the preload library"
fi
check "PYTHONPATH set by the program was not used" test ! -e "$M/pythonpath"
is "$(cat "$P/seen-env" 2>/dev/null)" "[][the-persons]" "the command sees the person's variables"
is "$(cat "$P/seen-env2" 2>/dev/null)" "[][the-persons]" "... and not one the program set on it"
"$AIRLOCK" verify "$ID" >/dev/null 2>&1
is "$?" 0 "the record verifies after the deferred runs"

# Control: the same variables, set by the person, do take effect (the test can see a hijack).
if $have_cc; then
	LD_PRELOAD=$T/evil.so env true
	check "control: the preload library works when the person sets it" test -e "$M/preload"
fi
BASH_ENV=$T/evil.sh bash -c true
check "control: BASH_ENV works when the person sets it" test -e "$M/bash_env"

done_testing
