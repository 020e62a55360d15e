#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The type-change matrix of `airlock commit`: for every change the program can make at a path
# (a file, a directory, a symlink, an opaque directory, a deletion, a fifo) over every kind of
# host entry (a file, a directory, a symlink, nothing), one real sandbox run makes the change,
# `airlock commit ID --all` applies it, and the host must then hold exactly what the sandbox
# saw; `airlock undo ID` must then put the host back, checksummed with every mtime. Then the
# cells that are refused by design: the host entry changed after the run (a conflict, refused
# until --force) and a host directory swapped for a symlink to outside (never written through).
. "$(dirname "$0")/../lib.sh"
require_sandbox

TREE=$TESTS_DIR/helpers/tree.py
sum() { "$PY" "$TREE" sum "$@"; }

cat >"$T/cell.py" <<'PY'
import os, shutil, stat, sys

def remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)

def write(p, text, mode=None):
    with open(p, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(p, mode)

cmd, P = sys.argv[1], sys.argv[2]
x = os.path.join(P, "x")
if cmd == "host":
    host = sys.argv[3]
    os.makedirs(P)
    write(os.path.join(P, "sibling.txt"), "left alone\n")
    write(os.path.join(P, "target.txt"), "a symlink's target\n")
    if host == "file":
        write(x, "host file\n", 0o640)
    elif host == "dir":
        os.makedirs(os.path.join(x, "sub"))
        write(os.path.join(x, "keep.txt"), "kept\n")
        write(os.path.join(x, "sub", "deep.txt"), "deep\n")
        os.chmod(x, 0o750)
    elif host == "symlink":
        os.symlink("target.txt", x)
    stamp = 1577934245  # 2020-01-02: older than any run
    for dirpath, dirs, files in os.walk(P, topdown=False):
        for n in dirs + files:
            os.utime(os.path.join(dirpath, n), (stamp, stamp), follow_symlinks=False)
    os.utime(P, (stamp, stamp))
elif cmd == "change":
    change, host = sys.argv[3], sys.argv[4]
    if change == "file":
        if host == "file":
            write(x, "sandbox file\n")          # modified in place
            os.chmod(x, 0o604)
        else:
            remove(x)
            write(x, "sandbox file\n", 0o604)
    elif change == "dir":
        if host == "dir":                       # merged: the host's content stays
            write(os.path.join(x, "new.txt"), "new in the directory\n")
            write(os.path.join(x, "keep.txt"), "kept, and changed\n")
            os.chmod(x, 0o700)
        else:
            remove(x)
            os.makedirs(os.path.join(x, "sub"))
            write(os.path.join(x, "inner.txt"), "inner\n", 0o600)
            os.chmod(x, 0o751)
    elif change == "symlink":
        remove(x)
        os.symlink("somewhere/else", x)
    elif change == "opaque":
        # Removed and made again: its old content must not come back at commit.
        remove(x)
        os.mkdir(x)
        write(os.path.join(x, "first.txt"), "gone again\n")
        shutil.rmtree(x)
        os.mkdir(x, 0o705)
        write(os.path.join(x, "fresh.txt"), "fresh\n")
    elif change == "whiteout":
        if host == "absent":
            write(x, "made and deleted\n")
        remove(x)
    elif change == "fifo":
        remove(x)
        os.mkfifo(x)
        os.chmod(x, 0o620)
    sys.stdout.flush()
PY
cell() { "$PY" "$T/cell.py" "$@"; }

# The change kind each cell must be classified as ("" for no change at all).
declare -A KIND=(
	[file-file]=modified [file-dir]=type-changed [file-symlink]=type-changed [file-absent]=added
	[dir-file]=type-changed [dir-dir]=mode-changed [dir-symlink]=type-changed
	[dir-absent]=dir-added
	[symlink-file]=type-changed [symlink-dir]=type-changed [symlink-symlink]=symlink-changed
	[symlink-absent]=symlink-added
	[opaque-file]=type-changed [opaque-dir]=dir-replaced [opaque-symlink]=type-changed
	[opaque-absent]=dir-added
	[whiteout-file]=deleted [whiteout-dir]=deleted [whiteout-symlink]=deleted
	[whiteout-absent]=""
	[fifo-file]=type-changed [fifo-dir]=type-changed [fifo-symlink]=type-changed
	[fifo-absent]=added
)

kind_of() { # ID PATH: the kind of the change at PATH in session ID, or ""
	"$AIRLOCK" show --json "$1" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
print("".join(c["kind"] for c in j["changes"] if c["path"] == sys.argv[1]))' "$2"
}

for change in file dir symlink opaque whiteout fifo; do
	for host in file dir symlink absent; do
		c=$change-$host
		P=$T/m/$c
		cell host "$P" "$host"
		pre=$(sum "$P" --dirtimes)
		# The program prints the sandbox's view of the tree after its change: the host must
		# equal it after the commit (directory mtimes aside: the commit changes them).
		al_run -- sh -c '"$1" "$2" change "$3" "$4" "$5" && "$1" "$6" sum "$3" --times' _ \
			"$PY" "$T/cell.py" "$P" "$change" "$host" "$TREE" >"$T/want" 2>"$T/err"
		is "$?" 0 "$c: the sandbox run makes the change"
		is "$(sum "$P" --dirtimes)" "$pre" "$c: the host is untouched by the run"
		id=$(last_session)
		is "$(kind_of "$id" "$P/x")" "${KIND[$c]}" "$c: classified as '${KIND[$c]}'"
		"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
		rc=$?
		is "$rc" 0 "$c: commit --all exits 0"
		[ "$rc" = 0 ] || sed 's/^/# /' "$T/err"
		got=$(sum "$P" --times)
		if [ "$got" = "$(cat "$T/want")" ]; then
			ok "$c: the host holds what the sandbox saw"
		else
			not_ok "$c: the host holds what the sandbox saw"
			diff <(echo "$got") "$T/want" | sed 's/^/# /'
		fi
		if [ -z "${KIND[$c]}" ]; then
			check "$c: nothing to commit is said" grep -q "no changes to commit" "$T/out"
			continue
		fi
		"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
		is "$?" 0 "$c: undo exits 0"
		got=$(sum "$P" --dirtimes)
		if [ "$got" = "$pre" ]; then
			ok "$c: undo restores the tree exactly (content, modes, every mtime)"
		else
			not_ok "$c: undo restores the tree exactly (content, modes, every mtime)"
			diff <(echo "$got") <(echo "$pre") | sed 's/^/# /'
		fi
	done
done
"$AIRLOCK" verify "$id" >/dev/null 2>&1
is "$?" 0 "the record of the last cell still verifies"

# --- refused by design: the host entry changed after the run -----------------------------
# Every kind of change over a host file that is edited after the run conflicts; the commit
# refuses it and leaves the host as the person left it; --force applies it, and undo puts
# the person's version back.
for change in file dir symlink opaque whiteout fifo; do
	c=$change-file-edited
	P=$T/e/$c
	cell host "$P" file
	al_run -- "$PY" "$T/cell.py" change "$P" "$change" file >/dev/null 2>&1
	id=$(last_session)
	echo "edited on the host after the run" >>"$P/x"
	edited=$(sum "$P" --dirtimes)
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	is "$?" 1 "$c: the conflict refuses the commit"
	check "$c: the refusal names the path" grep -qF "$P/x: it changed on the host" "$T/err"
	is "$(sum "$P" --dirtimes)" "$edited" "$c: the host is untouched"
	"$AIRLOCK" commit "$id" --all --force >"$T/out" 2>"$T/err"
	is "$?" 0 "$c: --force applies it"
	"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
	is "$?" 0 "$c: undo of the forced commit exits 0"
	is "$(sum "$P" --dirtimes)" "$edited" "$c: undo puts the person's edit back"
done

# Something appeared where the program added an entry: refused, never replaced silently (the
# change set compares with the host as it is now, so the reason given is that the host changed).
for change in file dir symlink fifo; do
	c=$change-absent-appeared
	P=$T/a/$c
	cell host "$P" absent
	al_run -- "$PY" "$T/cell.py" change "$P" "$change" absent >/dev/null 2>&1
	id=$(last_session)
	echo "appeared on the host" >"$P/x"
	appeared=$(sum "$P" --dirtimes)
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	is "$?" 1 "$c: an entry that appeared is a conflict"
	check "$c: the refusal names the path" grep -qF "$P/x: " "$T/err"
	is "$(sum "$P" --dirtimes)" "$appeared" "$c: the host is untouched"
done

# --- refused by design: a host directory swapped for a symlink to outside after the run -----
# The program changed x (a host directory); then x became a symlink to a directory outside the
# tree. Whatever the change, nothing may be written through the symlink, even with --force.
for change in file dir symlink opaque whiteout fifo; do
	c=$change-dir-swapped
	P=$T/s/$c
	O=$T/outside-$c
	cell host "$P" dir
	al_run -- "$PY" "$T/cell.py" change "$P" "$change" dir >/dev/null 2>&1
	id=$(last_session)
	mkdir -p "$O" && echo "outside" >"$O/keep.txt"
	mv "$P/x" "$P/x.moved"
	ln -s "$O" "$P/x"
	outside=$(sum "$O" --dirtimes)
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	is "$?" 1 "$c: refused"
	"$AIRLOCK" commit "$id" --all --force >"$T/out" 2>"$T/err"
	is "$(sum "$O" --dirtimes)" "$outside" "$c: nothing written through the symlink, even with --force"
	check "$c: the moved directory still holds the host's files" test -f "$P/x.moved/keep.txt"
done

done_testing
