#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An exec decided by a rule is checked after the fact: the program that runs must be the file
# that was checked, with the argv that was checked, or it is killed before its first
# instruction and the event log says what ran. Writes into the program's memory that no
# freeze of the sandbox holds still (legacy AIO, refused here; a writer outside the sandbox,
# used here to stand for them) must not get a denied program run. Also: the deferred-exec stub
# lives in the sandbox only, never at the host's /.@.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

AIO=$HELPERS/aio_exec
if [ ! -x "$AIO" ]; then
	not_ok "aio_exec is built ($AIO)"
	done_testing
	exit
fi

# --- legacy AIO is refused: its completions are kernel writes into memory at any time
diag "control outside the sandbox: $("$AIO" aio | paste -sd' ')"
out=$(al_run -- "$AIO" aio 2>/dev/null | paste -sd' ')
case $out in
"io_setup: ENOSYS io_submit: ENOSYS" | "io_setup: EPERM io_submit: EPERM")
	ok "io_setup and io_submit are refused in the sandbox ($out)" ;;
*)
	not_ok "io_setup and io_submit are refused in the sandbox"
	diag "got: $out" ;;
esac

# --- a deny exec rule holds while something the freeze cannot stop rewrites the path
B=$T/work/bin
mkdir -p "$B"
cp /bin/true "$B/ok"
cp /usr/bin/touch "$B/no"
printf '%s\0' "$B/ok" >"$T/path"
printf 'deny exec %s\n' "$B/no" >"$T/deny.rules"
marker=$T/work/MARKER
# The flipper rewrites the overlay's lower file, which the program maps MAP_SHARED: a writer
# outside the sandbox, as the kernel's own late writes are. From the main thread, and from a
# second thread, whose exec gives it the process's pid (the check must follow it there).
race() {
	local how=$1 out sid flipper
	"$AIO" flip "$T/path" "$B/ok" "$B/no" &
	flipper=$!
	out=$(al_run -r "$T/deny.rules" -- "$AIO" exec "$T/path" 300 "$marker" "$how" 2>"$T/err")
	kill "$flipper" 2>/dev/null
	wait "$flipper" 2>/dev/null
	case $out in
	"done 300 killed "*) ok "$how: the race ran to the end ($out)" ;;
	*) not_ok "$how: the race ran to the end"; diag "got: $out"; diag "$(head -c 300 "$T/err")" ;;
	esac
	sid=$(last_session)
	"$AIRLOCK" show --json "$sid" >"$T/race.json"
	is "$(jf race "[c['path'] for c in j['changes'] if c['path'].endswith('MARKER')]")" "[]" \
		"$how: the denied program never ran (no marker in the overlay)"
	check "$how: ... nor on the host" test ! -e "$marker"
	"$AIRLOCK" log --json "$sid" >"$T/race.log"
	"$PY" - "$T/race.log" "$B" >"$T/race.check" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ex = [e for e in ev if e.get("class") == "exec" and e.get("op") == "execve"]
killed = [e for e in ex if e.get("result") == "killed"]
allowed = [e for e in ex if e.get("decision") == "allow" and e.get("target") == sys.argv[2] + "/ok"]
print(len(allowed) > 0, all(e["target"] == sys.argv[2] + "/no" and e["by"] == "airlock" for e in killed))
PY
	is "$(cat "$T/race.check")" "True True" \
		"$how: allowed execs ran, and each exec killed after the fact is recorded as what ran"
	diag "$how: $("$PY" -c 'import json,sys
ev=[json.loads(l) for l in open(sys.argv[1])]
print("killed after the exec:", sum(1 for e in ev if e.get("result") == "killed"))' "$T/race.log")"
}
race main
race thread

# --- what is checked still runs: scripts, links, relative paths, fexecve, failed execs
cat >"$T/script.sh" <<'EOF2'
#!/bin/sh -e
echo "script:$1"
EOF2
chmod +x "$T/script.sh"
ln -s "$T/script.sh" "$T/work/script-link"
printf 'not a program\n' >"$T/work/plain.txt"
chmod +x "$T/work/plain.txt"
cat >"$T/legit.py" <<'PY'
import os, subprocess, sys
def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw).stdout.strip()
print(run([sys.argv[1], "a"]))
print(run(["./script-link", "b"]))
print(run(["/bin/echo", "echo-ok"]))
fd = os.memfd_create("prog")
os.write(fd, open("/bin/echo", "rb").read())
sys.stdout.flush()
pid = os.fork()
if pid == 0:
    os.execve(fd, ["echo", "fexecve-ok"], {})
os.waitpid(pid, 0)
try:
    os.execv("./plain.txt", ["plain"])
except OSError as e:
    print("failed-exec-survived", e.errno != 0)
PY
out=$(al_run -r "$T/deny.rules" -- "$PY" "$T/legit.py" "$T/script.sh" 2>"$T/err" | paste -sd' ')
case $out in
"script:a script:b echo-ok fexecve-ok failed-exec-survived True")
	ok "scripts, links, relative paths, fexecve and a failed exec behave as without the check" ;;
*)
	not_ok "scripts, links, relative paths, fexecve and a failed exec behave as without the check"
	diag "got: $out"
	diag "$(head -c 300 "$T/err")" ;;
esac
is "$("$AIRLOCK" log --json last | grep -c '"result":"killed"')" 0 "nothing legitimate was killed"

# --- the deferred-exec stub: in the sandbox only
host_stub() { if [ -e /.@ ] || [ -L /.@ ]; then stat -c '%d:%i %Z' /.@; else echo absent; fi; }
before=$(host_stub)
printf 'defer exec /usr/bin/touch\n' >"$T/defer.rules"
out=$(al_run -r "$T/defer.rules" -- sh -c 'touch deferred-marker; echo "status $?"; stat -c "%d:%i %s" /.@' 2>"$T/err")
is "$(head -n 1 <<<"$out")" "status 0" "a deferred exec runs the stub (as $(id -un))"
check "... and not the command" test ! -e "$T/work/deferred-marker"
inside=$(sed -n 2p <<<"$out")
is "${inside##* }" 129 "the sandbox's /.@ is the 129-byte stub"
if [ "$before" != absent ]; then
	check "the sandbox's /.@ is its own file, not the host's" test "${inside% *}" != "${before% *}"
	diag "this host has a /.@ (an older airlock made it): its absence cannot be tested here"
else
	ok "the sandbox starts on a host without /.@"
fi
is "$(host_stub)" "$before" "the host's root is untouched: /.@ is as it was ($before)"

done_testing
