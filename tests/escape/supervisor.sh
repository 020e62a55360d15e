#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Escape tests for the supervisor's hold on the sandbox: signals, SIGKILL, processes left behind.

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

require_sandbox

# airlock runs as the child of this small Python parent, which records airlock's pid and how it
# ended ("exit N" or "signal N"): the shell's $? cannot tell exit(143) from death by SIGTERM,
# and `al_run ... &` would give the pid of a subshell, not of airlock. A background job of a
# non-interactive shell starts with SIGINT ignored; the parent restores the defaults a
# terminal would give (Python itself ignores SIGPIPE and SIGXFSZ). It is a file, not -c code,
# so that its command line does not look like the sandboxed program's (program_pattern).
cat >"$T/launch.py" <<'EOF'
import os, signal, sys
status, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    for s in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(s, signal.SIG_DFL)
    os.execv(argv[0], argv)
with open(status + ".tmp", "w") as f:
    f.write(str(pid))
os.rename(status + ".tmp", status + ".pid")
_, st = os.waitpid(pid, 0)
with open(status + ".tmp", "w") as f:
    f.write("exit %d" % os.WEXITSTATUS(st) if os.WIFEXITED(st) else "signal %d" % os.WTERMSIG(st))
os.rename(status + ".tmp", status)
EOF

# al_start STATUS-FILE ARGS...: start `airlock run --review never ARGS...` in the background;
# sets al_pid (airlock) and launcher_pid. Fails when airlock's pid never appeared.
al_start() {
	local status=$1
	shift
	"$PY" "$T/launch.py" "$status" "$AIRLOCK" run --review never "$@" &
	launcher_pid=$!
	al_pid=
	wait_for 10 test -s "$status.pid" || return 1
	al_pid=$(cat "$status.pid")
}

# al_finish STATUS-FILE SECONDS: wait for airlock to end; sets al_how to how it ended, or to
# "timeout" after SECONDS (airlock is then killed).
al_finish() {
	if wait_for "$2" test -s "$1"; then
		al_how=$(cat "$1")
	else
		[ -n "$al_pid" ] && kill -9 "$al_pid" 2>/dev/null
		al_how=timeout
	fi
	wait "$launcher_pid" 2>/dev/null
}

# The sandboxed Python's own command line; airlock's and the launcher's also hold the tag.
program_pattern() { echo "^[^ ]*python[^ ]* -c .* $1\$"; }

# 1. SIGKILL to airlock: no handler can run, so the sandbox must be bound to the supervisor's
# life by the kernel (PR_SET_PDEATHSIG, a pid namespace whose init dies): nothing may survive.
tag=airlock-escape-$$-kill
tags+=("$tag")
st=$T/kill.status
if al_start "$st" -- "$PY" -c 'import time; time.sleep(300)' "$tag" >"$T/kill.out" 2>&1 &&
	wait_for 15 running "$(program_pattern "$tag")"; then
	ok "the sandboxed program runs"
	kill -9 "$al_pid"
	al_finish "$st" 10
	is "$al_how" "signal 9" "airlock was killed by SIGKILL"
	if wait_for 10 gone "$tag"; then
		ok "SIGKILL to airlock ends every process in the sandbox"
	else
		not_ok "SIGKILL to airlock ends every process in the sandbox"
		diag "still running: $(pgrep -af -- "$tag" | tr '\n' ';')"
	fi
else
	not_ok "the sandboxed program runs"
	diag "airlock said: $(head -c 400 "$T/kill.out")"
	al_finish "$st" 1
	skip "airlock was killed by SIGKILL" "the program never ran"
	skip "SIGKILL to airlock ends every process in the sandbox" "the program never ran"
fi
reap "$tag"

# 2. Signals sent to airlock reach the program: it exits through its handler with a status of
# its own, and airlock exits with that status (not killed by the signal itself).
handler_prog='import os, signal, time
for name, code in (("SIGTERM", 42), ("SIGINT", 43), ("SIGHUP", 44)):
    signal.signal(getattr(signal, name), lambda sig, frame, code=code: os._exit(code))
print("ready", flush=True)
time.sleep(300)
'
plain_prog='import time
print("ready", flush=True)
time.sleep(300)
'
# signal_case SIGNAL PROGRAM EXPECTED DESCRIPTION
signal_case() {
	local sig=$1 prog=$2 want=$3 desc=$4 tag st
	tag=airlock-escape-$$-$sig-$want
	tags+=("$tag")
	st=$T/$sig-$want.status
	if ! al_start "$st" -- "$PY" -c "$prog" "$tag" >"$T/$sig.out" 2>"$T/$sig.err" ||
		! wait_for 15 grep -q ready "$T/$sig.out"; then
		not_ok "$desc"
		diag "the program never said ready; airlock said: $(head -c 400 "$T/$sig.err")"
		al_finish "$st" 1
		reap "$tag"
		return
	fi
	kill -s "$sig" "$al_pid"
	al_finish "$st" 20
	is "$al_how" "$want" "$desc"
	if ! wait_for 10 gone "$tag"; then
		not_ok "nothing of the program is left after SIG$sig"
		diag "still running: $(pgrep -af -- "$tag" | tr '\n' ';')"
		reap "$tag"
	fi
}
signal_case TERM "$handler_prog" "exit 42" "SIGTERM to airlock reaches the program's handler"
signal_case INT "$handler_prog" "exit 43" "SIGINT to airlock reaches the program's handler"
signal_case HUP "$handler_prog" "exit 44" "SIGHUP to airlock reaches the program's handler"
signal_case TERM "$plain_prog" "exit 143" "an unhandled SIGTERM ends the program; airlock exits 143"

# 3. Processes the program leaves behind when it exits, in their own session and ignoring the
# polite signals, must not outlive the session: a subprocess with start_new_session and a
# double-forked daemon.
tag=airlock-escape-$$-orphan
tags+=("$tag")
st=$T/orphan.status
orphan_prog='import os, signal, subprocess, sys, time
tag = sys.argv[1]
stay = "import signal, time\nfor s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\ntime.sleep(120)\n"
subprocess.Popen([sys.executable, "-c", stay, "bg-" + tag], start_new_session=True)
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        os.write(w, b"x")
        time.sleep(120)
    os._exit(0)
os.read(r, 1)
print("started", flush=True)
'
if al_start "$st" -- "$PY" -c "$orphan_prog" "$tag" >"$T/orphan.out" 2>"$T/orphan.err"; then
	al_finish "$st" 30
	is "$al_how" "exit 0" "airlock returns with the main process's status when it exits"
	check "the program started its background processes" grep -q started "$T/orphan.out"
	# At once: airlock returns once pid 1 has killed and reaped them (only the
	# namespaces' teardown may still be under way then).
	if gone "$tag"; then
		ok "no process started in the sandbox is left when airlock returns"
	else
		not_ok "no process started in the sandbox is left when airlock returns"
		diag "still running: $(pgrep -af -- "$tag" | tr '\n' ';')"
	fi
else
	not_ok "airlock returns with the main process's status when it exits"
	diag "airlock never started: $(head -c 400 "$T/orphan.err")"
fi
reap "$tag"

done_testing
