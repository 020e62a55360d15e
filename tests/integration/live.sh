#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live sessions: airlock start / exec / stop. Each exec sees the earlier steps' changes and
# nothing reaches the host until commit; statuses, stdio and signals are the command's own;
# steps run at once; stop ends running steps; a dead supervisor leaves a session that stop
# seals for review; nobody else (another user, the sandbox itself) reaches the control socket.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

sid=$("$AIRLOCK" start --name box 2>"$T/start.err")
is "$?" 0 "start succeeds"
case $sid in
[0-9]*-[0-9]*-[0-9a-f]*) ok "start prints the session's ID" ;;
*) not_ok "start prints the session's ID"; diag "$sid $(cat "$T/start.err")" ;;
esac
"$AIRLOCK" list >"$T/list.out"
check "list shows the session as live, with its name" grep -q "^$sid  live .*(live session box)" "$T/list.out"

"$AIRLOCK" exec box -- sh -c 'echo one > f.txt; mkdir -p d; echo two > d/g.txt'
is "$?" 0 "exec by name runs a command that writes"
check "the host is untouched" test ! -e f.txt
is "$("$AIRLOCK" exec "$sid" -- cat f.txt d/g.txt)" "one
two" "a later exec sees what the earlier one wrote"
"$AIRLOCK" exec box -- sh -c 'exit 7'
is "$?" 7 "the step's exit status is exec's"
"$AIRLOCK" exec box -- sh -c 'kill -TERM $$'
is "$?" 143 "a step killed by a signal gives 128+N"
"$AIRLOCK" exec box -- no-such-command-here 2>"$T/nf.err"
is "$?" 127 "a command that is not found gives 127"
check "and says so" grep -q "command not found" "$T/nf.err"
is "$(echo piped | "$AIRLOCK" exec box -- cat)" "piped" "stdin from a pipe reaches the step"
printf 'from a file\n' >"$T/in.txt"
is "$("$AIRLOCK" exec box -- cat <"$T/in.txt")" "from a file" "stdin from a file is copied in"
"$AIRLOCK" exec box -- sh -c 'echo out; echo err >&2' >"$T/o.txt" 2>"$T/e.txt"
is "$(cat "$T/o.txt"):$(cat "$T/e.txt")" "out:err" "stdout and stderr to files are relayed"

"$AIRLOCK" exec box -- sh -c 'echo to-nowhere; exit 5' >&-
is "$?" 5 "a closed stdout does not stop the step"
"$AIRLOCK" exec box -- sh -c 'test -c /proc/self/fd/0 && test -c /proc/self/fd/1 &&
	test -c /proc/self/fd/2' <&- >&- 2>&-
is "$?" 0 "closed stdin, stdout and stderr are /dev/null in the step, never a descriptor of exec's"
mkdir -p sub
is "$("$AIRLOCK" exec box -C sub -- pwd)" "$T/work/sub" "-C names the step's directory"
is "$(cd sub && "$AIRLOCK" exec box -- pwd)" "$T/work/sub" "the caller's directory is the default"
"$AIRLOCK" exec box -C /no/such/dir -- true 2>"$T/cd.err"
is "$?" 125 "-C naming a missing directory fails (125)"

"$AIRLOCK" exec box --json -- sh -c 'echo json-out; echo json-err >&2; exit 4' >"$T/j.json"
is "$?" 4 "exec --json keeps the exit status"
is "$(jf j "j['exit_code'], j['stdout'], j['stderr'], j['session'] == '$sid', j['step'] > 0")" \
	"(4, 'json-out\\n', 'json-err\\n', True, True)" "exec --json gives one result object"

for i in 1 2 3 4; do
	"$AIRLOCK" exec box -- sh -c "sleep 0.5; echo \$\$ > par$i" &
done
wait
is "$("$AIRLOCK" exec box -- sh -c 'cat par1 par2 par3 par4 | sort -u | wc -l')" 4 \
	"four execs run at once"

# The sandbox cannot reach the session store, so not the control socket either.
"$AIRLOCK" exec box -- sh -c "ls '$AIRLOCK_STATE_DIR/sessions/$sid/control'" >/dev/null 2>&1
is "$?" 2 "the control socket is not in the sandbox's view"
"$AIRLOCK" exec box -- "$AIRLOCK" exec box -- true 2>"$T/nested.err"
isnt=$?
check "an exec from inside the sandbox cannot reach the session" test "$isnt" -ne 0

# A step that runs when the session stops is ended; the record is sealed.
"$AIRLOCK" exec box -- sh -c 'echo started > running.txt; exec sleep 300' &
execpid=$!
wait_for 10 "$AIRLOCK" exec box -- test -e running.txt
"$AIRLOCK" stop -t 1 box 2>"$T/stop.err"
is "$?" 0 "stop succeeds"
check "stop says what is held" grep -q "stopped: .* changes held" "$T/stop.err"
wait "$execpid"
is "$?" 143 "the running step got SIGTERM from stop"
check "the list shows it finished" sh -c "'$AIRLOCK' list | grep -q '^$sid  finished'"
"$AIRLOCK" verify "$sid" >/dev/null 2>&1
is "$?" 0 "verify vouches for the stopped session"
is "$("$AIRLOCK" exec box -- cat f.txt 2>"$T/after.err")" "one" \
	"exec after stop starts the session again over its held changes"
check "and says so" grep -q "was stopped: starting a fresh sandbox over its held changes" "$T/after.err"
"$AIRLOCK" exec box -- sh -c 'echo three > h.txt'
"$AIRLOCK" stop box 2>/dev/null
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$sid/meta.json" "j['live']['restarts'], j['state']")" \
	"1 finished" "the record counts the restart"
"$AIRLOCK" verify "$sid" >/dev/null 2>&1
is "$?" 0 "verify vouches for the record across steps"
"$AIRLOCK" log --json "$sid" >"$T/log.jsonl"
steps=$("$PY" - "$T/log.jsonl" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
starts = [e for e in evs if e.get("class") == "step" and e.get("op") == "start"]
ends = [e for e in evs if e.get("class") == "step" and e.get("op") == "end"]
writes = [e for e in evs if e.get("class") == "write" and e.get("target", "").endswith("/f.txt")]
first = [e for e in starts if e["step"] == 1][0]
print(len(starts) == len(ends), first["command"][0], writes[0].get("step"))
PY
)
is "$steps" "True sh 1" "the log has each step's start and end, and events name their step"
"$AIRLOCK" show "$sid" >"$T/show.out"
check "show lists the changes of all steps" grep -q "d/g.txt" "$T/show.out"
"$AIRLOCK" commit "$sid" >/dev/null 2>&1
is "$(cat f.txt d/g.txt 2>/dev/null)" "one
two" "commit applies what the steps wrote"
"$AIRLOCK" undo "$sid" >/dev/null 2>&1
check "undo takes it back" test ! -e f.txt

# A killed supervisor takes its sandbox with it; stop then seals the session for review.
sid2=$("$AIRLOCK" start)
"$AIRLOCK" exec "$sid2" -- sh -c 'echo kept > k.txt'
"$AIRLOCK" exec "$sid2" -- sleep 301 &
wait_for 10 running "sleep 301"
sup=$(json_get "$AIRLOCK_STATE_DIR/sessions/$sid2/meta.json" "j['supervisor_pid']")
kill -KILL "$sup"
wait
wait_for 10 gone "sleep 301"
check "the sandbox died with its supervisor" gone "sleep 301"
check "list shows the session interrupted" sh -c "'$AIRLOCK' list | grep -q '^$sid2  interrupted'"
"$AIRLOCK" stop "$sid2" 2>"$T/rec.err"
is "$?" 0 "stop seals a session whose supervisor is gone"
check "saying so" grep -q "its supervisor was gone" "$T/rec.err"
check "its changes can be reviewed" sh -c "'$AIRLOCK' show '$sid2' | grep -q k.txt"
"$AIRLOCK" verify "$sid2" >/dev/null 2>&1
is "$?" 0 "and its record verifies"

# --idle stops a forgotten session.
sid3=$("$AIRLOCK" start --idle 1s)
wait_for 60 sh -c "'$AIRLOCK' list | grep -q '^$sid3  finished'"
check "--idle stops a session without steps" sh -c "'$AIRLOCK' list | grep -q '^$sid3  finished'"
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$sid3/meta.json" "j['live']['ended_by']")" idle \
	"the record says it ended idle"

# --timeout is the session's whole life: the step that runs when it ends gets 124.
sid5=$("$AIRLOCK" start --timeout 2s)
"$AIRLOCK" exec "$sid5" -- sleep 60 2>"$T/to.err"
is "$?" 124 "a step running when the session's --timeout ends it gets 124"
check "and is told why" grep -q "timeout limit ended it" "$T/to.err"
wait_for 60 sh -c "'$AIRLOCK' list | grep -q '^$sid5  finished'"
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$sid5/meta.json" "j['limit'], j['live']['ended_by']")" \
	"timeout limit" "the record names the limit"

# A session whose directory is deleted (its store removed) stops: nothing is left to review.
sid6=$(AIRLOCK_STATE_DIR=$T/store2 "$AIRLOCK" start)
sup6=$(json_get "$T/store2/sessions/$sid6/meta.json" "j['supervisor_pid']")
rm -rf "$T/store2" 2>/dev/null # the overlay's work directories stay while it is mounted
supervisor_gone() { ! kill -0 "$sup6" 2>/dev/null; }
check "a live session whose store was deleted stops" wait_for 20 supervisor_gone

# Bad input.
"$AIRLOCK" start -- echo hi 2>"$T/cmd.err"
is "$?" 2 "start with a command is a usage error"
check "pointing to exec" grep -q "airlock exec ID -- COMMAND" "$T/cmd.err"
"$AIRLOCK" start --name 9lives 2>/dev/null
is "$?" 125 "a name that could be read as an ID is refused"
sid4=$("$AIRLOCK" start --name dup)
"$AIRLOCK" start --name dup 2>"$T/dup.err"
is "$?" 2 "a name a live session has is refused"
check "naming the session" grep -q "taken by live session $sid4" "$T/dup.err"
"$AIRLOCK" exec dup 2>/dev/null
is "$?" 2 "exec without a command is a usage error"

# Another user: the socket is the owner's alone, and the supervisor checks the peer too.
if [ "$(id -u)" = 0 ] && id airlock-test >/dev/null 2>&1; then
	chmod 755 "$AIRLOCK_STATE_DIR" "$AIRLOCK_STATE_DIR/sessions" "$AIRLOCK_STATE_DIR/sessions/$sid4"
	runuser -u airlock-test -- env AIRLOCK_STATE_DIR="$AIRLOCK_STATE_DIR" \
		"$AIRLOCK" exec "$sid4" -- touch /tmp/airlock-live-other 2>"$T/other.err"
	check "another user cannot exec into the session" test ! -e /tmp/airlock-live-other
	chmod 666 "$AIRLOCK_STATE_DIR/sessions/$sid4/control"
	runuser -u airlock-test -- env AIRLOCK_STATE_DIR="$AIRLOCK_STATE_DIR" \
		"$AIRLOCK" exec "$sid4" -- touch /tmp/airlock-live-other 2>"$T/other.err"
	check "not even through a socket it may open: the supervisor checks its uid" \
		grep -q "belongs to another user" "$T/other.err"
	diag "$(cat "$T/other.err")"
	runuser -u airlock-test -- env AIRLOCK_STATE_DIR="$AIRLOCK_STATE_DIR" \
		"$AIRLOCK" stop "$sid4" 2>/dev/null
	check "nor stop it" sh -c "'$AIRLOCK' list | grep -q '^$sid4  live'"
	rm -f /tmp/airlock-live-other
else
	diag "not root: the other-user checks run in the root pass"
fi
"$AIRLOCK" stop "$sid4" 2>/dev/null
is "$?" 0 "the owner stops it"
"$AIRLOCK" discard "$sid4" >/dev/null 2>&1
"$AIRLOCK" exec "$sid4" -- true 2>"$T/disc.err"
is "$?" 125 "exec on a discarded session fails"
check "saying the session is not live" grep -q "is not live (discarded)" "$T/disc.err"

# stop returns once the supervisor has let go: what a caller runs next finds the session free.
sid5=$("$AIRLOCK" start 2>/dev/null)
held=0
for i in 1 2 3 4 5 6; do
	"$AIRLOCK" exec "$sid5" -- true 2>/dev/null
	"$AIRLOCK" stop "$sid5" >/dev/null 2>&1
	flock -n "$AIRLOCK_STATE_DIR/sessions/$sid5/lock" true || held=$((held + 1))
done
is "$held" 0 "after each stop (exec restarting it between), the session's lock is free at once"
"$AIRLOCK" discard "$sid5" >/dev/null 2>&1

done_testing
