#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a commit never lets through, tried as a hostile program would: setuid and setgid bits
# and device nodes; a directory above a hidden path taken away (with what the program never
# saw); airlock's own configuration and store rewritten from inside; a session whose run was
# interrupted committed as if it had ended. Also: the deletion of a directory airlock made in
# the upper layer (a parent of a hidden path) is shown as the program's change.
. "$(dirname "$0")/../lib.sh"
require_sandbox

# A home of our own: the defaults hide ~/.config/gcloud and ~/.config/gh, and airlock's rules
# live in ~/.config/airlock; both commit and run see the same one.
export HOME=$T/home
unset XDG_CONFIG_HOME
mkdir -p "$HOME"

mode() { stat -c %a "$1"; }
session_dir() { echo "$AIRLOCK_STATE_DIR/sessions/$(last_session)"; }

# The upper directory that holds host path $2 in session directory $1 (longest mount first).
upper_of() {
	"$PY" - "$1" "$2" <<'PY'
import json, os, sys
sdir, path = sys.argv[1], sys.argv[2]
meta = json.load(open(os.path.join(sdir, "meta.json")))
best = None
for m in meta["mounts"]:
    p = m["path"].rstrip("/") or "/"
    if path == p or path.startswith(p.rstrip("/") + "/"):
        if best is None or len(p) > len(best[0]):
            best = (p, m["upper"])
p, up = best
rel = os.path.relpath(path, p)
print(os.path.join(sdir, up, rel))
PY
}

# changes_of: "PATH KIND" lines of the newest session.
changes_of() {
	"$AIRLOCK" show --json last |
		json_get - '"\n".join(c["path"] + " " + c["kind"] for c in j["changes"])'
}

# --- 3. setuid and setgid bits never reach the host -------------------------------------------
S=$T/suid
mkdir -p "$S/olddir" "$S/sgparent"
cp /bin/true "$S/tool"
chmod 0755 "$S/tool"
echo keep >"$S/exist"
chmod 0755 "$S/exist"
# A setgid directory of the person's own: a directory made in it inherits setgid on the host
# anyway, so that is no privilege the program adds.
chmod 2755 "$S/sgparent" 2>/dev/null
sgparent=$(mode "$S/sgparent")

cat >"$T/suid.py" <<'PY'
import os, shutil, stat, sys
os.chdir(sys.argv[1])
os.umask(0)
shutil.copy("/bin/true", "bychmod"); os.chmod("bychmod", 0o4755)           # chmod after create
fd = os.open("bycreate", os.O_CREAT | os.O_WRONLY, 0o6755); os.close(fd)      # created 06755
os.chmod("exist", 0o4755)                                                     # host file, chmod
os.unlink("tool"); shutil.copy("/bin/true", "tool"); os.chmod("tool", 0o4755)  # replaced
os.mkdir("sgdir"); os.chmod("sgdir", 0o2755)                                  # setgid directory
os.chmod("olddir", 0o2755)                                                    # host directory
shutil.copy("/bin/true", "sgid"); os.chmod("sgid", 0o2711)                    # setgid file
os.mkdir("sgparent/sub", 0o755)                                               # inherits setgid
fd = os.open("named", os.O_CREAT | os.O_WRONLY, 0o4700); os.close(fd)         # named below
for n in sorted(os.listdir(".")) + ["sgparent/sub"]:
    print("%o %s" % (stat.S_IMODE(os.lstat(n).st_mode), n))
PY
al_run -- "$PY" "$T/suid.py" "$S" >"$T/inside" 2>"$T/err"
is "$?" 0 "the program sets setuid and setgid bits inside the sandbox"
is "$(grep -v sgparent "$T/inside" | grep -c '^[246][0-7][0-7][0-7] ')" 8 \
	"... and they are there inside (the attack happened)"
id_suid=$(last_session)
"$AIRLOCK" commit "$id_suid" "$S/named" >"$T/out" 2>"$T/err"
is "$?" 0 "commit of a setuid file named explicitly exits 0"
is "$(mode "$S/named")" 700 "... the named file reaches the host without its setuid bit"
check "... and commit says it stripped the bit" grep -q "named: committed without its setuid bit" "$T/err"
"$AIRLOCK" undo "$id_suid" >/dev/null 2>&1
"$AIRLOCK" commit "$id_suid" --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit --all of setuid and setgid entries exits 0"
sed 's/^/# /' "$T/err"
is "$(mode "$S/bychmod")" 755 "setuid set by chmod is stripped"
is "$(mode "$S/bycreate")" 755 "setuid and setgid given at creation are stripped"
is "$(mode "$S/exist")" 755 "setuid added to a host file by a mode change is stripped"
is "$(mode "$S/tool")" 755 "a host file replaced by a setuid one loses the bit"
cmp -s /bin/true "$S/tool"
is "$?" 0 "... its new content is committed"
is "$(mode "$S/sgdir")" 755 "setgid on a new directory is stripped"
is "$(mode "$S/olddir")" 755 "setgid added to a host directory is stripped"
is "$(mode "$S/sgid")" 711 "a setgid file loses the bit"
if [ "$sgparent" = 2755 ]; then
	is "$(mode "$S/sgparent/sub")" 2755 "a directory in a setgid host directory keeps the setgid it inherits"
fi
check "commit says which bits it stripped" grep -q "bycreate: committed without its setuid and setgid bits" "$T/err"
check "... for a directory too" grep -q "sgdir: committed without its setgid bit" "$T/err"
if find "$S" -perm /6000 ! -path "$S/sgparent*" | grep -q .; then
	not_ok "no setuid or setgid bit of the program's reached the host"
	find "$S" -perm /6000 | sed 's/^/# /'
else
	ok "no setuid or setgid bit of the program's reached the host"
fi
check "the event log records the strip" grep -q '"stripped":"6000"' \
	"$AIRLOCK_STATE_DIR/sessions/$id_suid/events.jsonl"

# --- 3. device nodes never reach the host ------------------------------------------------------
D=$T/dev
mkdir -p "$D"
al_run -- sh -c 'cd "$1" && { mknod blk b 7 0 || mknod chr c 1 3 || python3 -c "import os; os.mknod(\"py\", 0o20666, os.makedev(1, 3))"; } ; mkfifo fifo; echo made' _ "$D" >"$T/out" 2>"$T/err"
# EPERM from the kernel (no device in a user namespace), or EACCES from Landlock before it.
check "mknod inside the sandbox fails (no device in a user namespace)" \
	grep -Eq "not permitted|Permission denied" "$T/err"
sd=$(session_dir)
up=$(upper_of "$sd" "$D")
if [ "$(id -u)" = 0 ]; then
	# The kernel stops the program; a crafted upper directory is what is left to try.
	mknod "$up/planted" c 1 3 && chmod 0666 "$up/planted"
	mknod "$up/fifo.dev" b 7 0
	echo x >"$D/host" && mknod "$up/host" c 1 5
	"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
	is "$?" 0 "commit --all with device nodes in the overlay exits 0"
	is "$(ls "$D" | sort | tr '\n' ' ')" "fifo host " "no device node reached the host (a fifo did)"
	is "$(cat "$D/host")" x "a host file the overlay turned into a device is left as it was"
	check "commit names the device it left out" grep -q "planted: a device cannot be committed" "$T/err"
	"$AIRLOCK" undo >/dev/null 2>&1
	"$AIRLOCK" commit "$(last_session)" "$D/planted" >"$T/out" 2>"$T/err"
	check "... also when the device is named explicitly" test ! -e "$D/planted"
else
	check "no device node reached the overlay" test -z "$(find "$up" -type c -o -type b 2>/dev/null | head -1)"
fi

# --- 4 and 10. hidden paths survive a program that takes their parent away --------------------
hidden_host() {
	rm -rf "$HOME/.config"
	mkdir -p "$HOME/.config/gcloud" "$HOME/.config/gh" "$HOME/.config/other"
	echo TOKEN >"$HOME/.config/gcloud/credentials"
	echo GH >"$HOME/.config/gh/hosts.yml"
	echo mine >"$HOME/.config/other/o"
}
hidden_intact() {
	[ "$(cat "$HOME/.config/gcloud/credentials" 2>/dev/null)" = TOKEN ] &&
		[ "$(cat "$HOME/.config/gh/hosts.yml" 2>/dev/null)" = GH ]
}

n=0
for way in \
	'rm -rf "$HOME/.config" && mkdir -p "$HOME/.config/app" && echo new >"$HOME/.config/app/f"' \
	'mv "$HOME/.config" "$HOME/config.moved"' \
	'python3 -c "import shutil, sys; shutil.rmtree(sys.argv[1])" "$HOME/.config"' \
	'rm -rf "$HOME/.config" && echo a file >"$HOME/.config"' \
	'rm -rf "$HOME/.config" && ln -s /tmp "$HOME/.config"'; do
	n=$((n + 1))
	hidden_host
	al_run -- sh -c "$way" >/dev/null 2>"$T/err"
	id=$(last_session)
	case $n in
	2 | 3)
		# Item 10: rmdir of the directory airlock made to hold the whiteouts.
		check "way $n: the deletion of ~/.config is shown as the program's change" \
			grep -qx "$HOME/.config deleted" <(changes_of)
		;;
	esac
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	is "$?" 0 "way $n: commit --all exits 0"
	check "way $n: the host keeps the hidden content it never showed the program" hidden_intact
	check "way $n: commit names the hidden path it keeps" grep -q "$HOME/.config/g[ch].*hidden in the sandbox" "$T/err"
	check "way $n: ~/.config is still a directory" test -d "$HOME/.config" -a ! -L "$HOME/.config"
	[ $n = 1 ] && is "$(cat "$HOME/.config/app/f" 2>/dev/null)" new "way 1: the new content below it is merged in"
	[ $n = 2 ] && is "$(cat "$HOME/config.moved/other/o" 2>/dev/null)" mine "way 2: the copy the program made is committed"
	"$AIRLOCK" undo "$id" >/dev/null 2>&1
	# Naming the parent explicitly is refused the same way.
	"$AIRLOCK" commit "$id" "$HOME/.config" >"$T/out" 2>"$T/err"
	check "way $n: named explicitly, the hidden content is still kept" hidden_intact
done

# Neither a hidden path nor airlock's configuration on the host: removing their parent takes
# nothing away, and is committed.
rm -rf "$HOME/.config"
mkdir -p "$HOME/.config/plain"
al_run -- rm -rf "$HOME/.config" >/dev/null 2>&1
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit of rm -rf ~/.config with no hidden content there exits 0"
check "... and the deletion is applied" test ! -e "$HOME/.config"
mkdir -p "$HOME/.config"

# --- 5. airlock's own configuration and store cannot be changed from inside -----------------
C=$HOME/.config/airlock
mkdir -p "$C"
echo "# the person's rules" >"$C/rules"
before=$(cat "$C/rules")
al_run -- sh -c '
	echo "allow connect *" >>"$1/rules" && echo appended
	ln -s /tmp/evil "$1/evil" && echo linked
	rm -f "$1/rules" && echo removed
	mv "$1" "$1.away" && echo moved
	exit 0' _ "$C" >"$T/inside" 2>"$T/err"
is "$(cat "$T/inside")" "" "inside, ~/.config/airlock cannot be written, linked into, emptied or moved"
check "... it is read-only there" grep -q "Read-only file system" "$T/err"
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$(cat "$C/rules")" "$before" "the person's rules are unchanged"

# Absent on the host: the program creates it, by writing, a symlink or renaming a directory in.
n=0
for way in \
	'mkdir -p "$1" && echo "allow connect *" >"$1/rules"' \
	'mkdir -p /tmp/evil-$$ && echo "allow connect *" >/tmp/evil-$$/rules && ln -s /tmp/evil-$$ "$1"' \
	'mkdir "$1.stage" && echo "allow connect *" >"$1.stage/rules" && mv "$1.stage" "$1"' \
	'mkdir -p "$2/airlock" && echo "allow connect *" >"$2/airlock/rules" && rm -rf "$HOME/.config" && ln -s "$2" "$HOME/.config"'; do
	n=$((n + 1))
	rm -rf "$C" "$T/redir"
	mkdir -p "$HOME/.config" "$T/redir"
	al_run -- sh -c "$way" _ "$C" "$T/redir" >/dev/null 2>"$T/err"
	is "$?" 0 "config way $n: the program makes its own ~/.config/airlock inside"
	id=$(last_session)
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	check "config way $n: commit --all does not create it on the host" test ! -e "$C" -a ! -L "$C"
	check "config way $n: commit says it is airlock's own configuration" grep -q "airlock's own configuration" "$T/err"
	check "config way $n: ~/.config is still a directory" test -d "$HOME/.config" -a ! -L "$HOME/.config"
	"$AIRLOCK" undo "$id" >/dev/null 2>&1
	"$AIRLOCK" commit "$id" "$C" >"$T/out" 2>"$T/err"
	check "config way $n: nor when it is named explicitly" test ! -e "$C" -a ! -L "$C"
done

# $XDG_CONFIG_HOME names where the rules are read from: that is airlock's configuration too.
export XDG_CONFIG_HOME=$T/xdg
mkdir -p "$XDG_CONFIG_HOME"
al_run -- sh -c 'mkdir -p "$1/airlock" && echo "allow connect *" >"$1/airlock/rules"' _ "$XDG_CONFIG_HOME" >/dev/null 2>&1
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
check "rules written to \$XDG_CONFIG_HOME/airlock are never committed" test ! -e "$XDG_CONFIG_HOME/airlock"
unset XDG_CONFIG_HOME

# The store: hidden inside; recreated there, it is still never committed.
al_run -- sh -c 'mkdir -p "$1/sessions/x" && echo forged >"$1/sessions/x/meta.json"' _ "$AIRLOCK_STATE_DIR" >/dev/null 2>&1
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
check "a session forged in the store from inside is never committed" test ! -e "$AIRLOCK_STATE_DIR/sessions/x"

# --- 8. an interrupted session is not committed silently --------------------------------------
I=$T/intr
mkdir -p "$I"
cat >"$T/killask.py" <<'PY'
# Start a run whose program waits on a connect nobody answers, then SIGKILL the supervisor
# while the ask is out: print "asked" once the ask arrived.
import signal, socket, subprocess, sys
al, d = sys.argv[1:3]
a, b = socket.socketpair()
prog = 'echo x >"$1/f"; exec python3 -c "import socket; socket.create_connection((\'192.0.2.1\', 9), 100)"'
p = subprocess.Popen([al, "run", "--review", "never", "--ask", "fd:%d" % b.fileno(),
                      "--ask-timeout", "120s", "--", "sh", "-c", prog, "_", d],
                     pass_fds=[b.fileno()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
b.close()
a.settimeout(30)
line = a.makefile().readline()
print("asked" if '"type":"ask"' in line.replace(" ", "") else "no ask: " + line)
p.send_signal(signal.SIGKILL)
p.wait()
a.close()
PY
state() { "$AIRLOCK" show --json "$1" | json_get - 'j["state"]'; }
is_interrupted() { [ "$(state "$1")" = interrupted ]; }
for how in plain asking; do
	if [ $how = plain ]; then
		rm -f "$T/run.out"
		"$AIRLOCK" run --review never -- sh -c 'echo x >"$1/f"; echo ready; exec sleep 120' _ "$I" \
			>"$T/run.out" 2>&1 &
		pid=$!
		if ! wait_for 20 grep -q ready "$T/run.out"; then
			not_ok "$how: the program started"
			kill -9 "$pid" 2>/dev/null
			continue
		fi
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
	else
		# Killed while the program waits in a notified call for a decision.
		is "$("$PY" "$T/killask.py" "$AIRLOCK" "$I")" asked "$how: the supervisor is killed while an ask is out"
	fi
	id=$(last_session)
	wait_for 20 is_interrupted "$id"
	is "$(state "$id")" interrupted "$how: the session whose supervisor was killed shows as interrupted"
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	is "$?" 1 "$how: commit --all of the interrupted session is refused"
	check "$how: ... saying why" grep -q "did not end normally" "$T/err"
	check "$how: ... and how to commit anyway" grep -q -- "--force" "$T/err"
	check "$how: nothing reached the host" test ! -e "$I/f"
	"$AIRLOCK" commit "$id" "$I/f" >"$T/out" 2>"$T/err"
	is "$?" 1 "$how: naming the path is refused too"
	check "$how: ... nothing reached the host" test ! -e "$I/f"
	"$AIRLOCK" commit "$id" --all --force >"$T/out" 2>"$T/err"
	is "$?" 0 "$how: --force commits it"
	is "$(cat "$I/f" 2>/dev/null)" x "$how: ... the change is on the host"
	check "$how: ... and the forced commit is in the event log" grep -q '"op":"unsealed"' \
		"$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"
	rm -f "$I/f"
done

done_testing
