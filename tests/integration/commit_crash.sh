#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash safety of `airlock commit` and `airlock undo`: a commit of ~2,000 changes of every kind
# is SIGKILLed at several points (polling its journal for the point: while it plans, while the
# first batch's new files are written, mid-batch, after k steps, while it records the results,
# after it ends), and so is an undo and a rollback. After each kill, the next `airlock commit` or
# `airlock undo` of the session must finish or roll back: the host tree is then exactly the
# committed state or exactly the state before the commit (checksummed: content, modes, symlink
# targets, file mtimes, and directory mtimes after an undo), never half of each.
. "$(dirname "$0")/../lib.sh"
require_sandbox

TREE=$TESTS_DIR/helpers/tree.py
KILLAT=$TESTS_DIR/helpers/killat.py
sum() { "$PY" "$TREE" sum "$@"; }

P=$T/proj
"$PY" - "$P" <<'PY'
import os, sys
P = sys.argv[1]
stamp = 1577934245
for d in range(10):
    os.makedirs(f"{P}/mod/{d}")
    for i in range(100):
        open(f"{P}/mod/{d}/f{i:03}.txt", "w").write(f"host {d} {i}\n" * 20)
os.makedirs(f"{P}/gone/sub")
for i in range(100):
    open(f"{P}/gone/sub/g{i:03}", "w").write("doomed\n")
open(f"{P}/t2d", "w").write("a file that becomes a directory\n")
os.makedirs(f"{P}/d2f/in")
open(f"{P}/d2f/in/x", "w").write("a directory that becomes a file\n")
open(f"{P}/run.sh", "w").write("#!/bin/sh\n")
os.symlink("mod/0/f000.txt", f"{P}/link")
for dirpath, dirs, files in os.walk(P, topdown=False):
    for n in dirs + files:
        os.utime(os.path.join(dirpath, n), (stamp, stamp), follow_symlinks=False)
os.utime(P, (stamp, stamp))
PY

cat >"$T/change.py" <<'PY'
import os, shutil, sys
P = sys.argv[1]
for d in range(10):
    for i in range(100):
        open(f"{P}/mod/{d}/f{i:03}.txt", "a").write("changed in the sandbox\n")
for d in range(8):
    os.makedirs(f"{P}/new/{d}/deeper")
    for i in range(100):
        open(f"{P}/new/{d}/n{i:03}.txt", "w").write(f"new {d} {i}\n")
    open(f"{P}/new/{d}/deeper/leaf", "w").write("leaf\n")
shutil.rmtree(f"{P}/gone")
os.unlink(f"{P}/t2d"); os.makedirs(f"{P}/t2d/inside"); open(f"{P}/t2d/inside/f", "w").write("in\n")
shutil.rmtree(f"{P}/d2f"); open(f"{P}/d2f", "w").write("was a directory\n")
os.chmod(f"{P}/run.sh", 0o755)
os.chmod(f"{P}/mod/9", 0o700)
os.unlink(f"{P}/link"); os.symlink("mod/1/f001.txt", f"{P}/link")
os.mkfifo(f"{P}/new/fifo")
PY

pre=$(sum "$P" --dirtimes)
al_run -- sh -c '"$1" "$2" "$3" && "$1" "$4" sum "$3" --times' _ "$PY" "$T/change.py" "$P" \
	"$TREE" >"$T/post" 2>"$T/err"
is "$?" 0 "the sandbox run changes ~2,000 paths"
post=$(cat "$T/post")
id=$(last_session)
J=$AIRLOCK_STATE_DIR/sessions/$id/commit/journal.jsonl
nchanges=$("$AIRLOCK" show --json "$id" | json_get - 'len(j["changes"])')
diag "session $id holds $nchanges changes"

# state WHAT: ok when the host is exactly the committed (post) or original (pre) tree.
state() {
	local want=$1 got
	if [ "$want" = pre ]; then got=$(sum "$P" --dirtimes); else got=$(sum "$P" --times); fi
	if [ "$got" = "${!want}" ]; then return 0; fi
	diff <(echo "$got") <(echo "${!want}") | head -20 | sed 's/^/# /'
	return 1
}

killat() { "$PY" "$KILLAT" "$J" "$@"; }
killed() { json_get - 'j["killed"]' <<<"$1"; }

# round OP COUNT RECOVER: kill a commit at OP x COUNT, recover with RECOVER (commit or undo),
# check the host, and leave it in the original state for the next round.
round() {
	local op=$1 count=$2 recover=$3 r
	r=$(killat "$op" "$count" -- "$AIRLOCK" commit "$id" --all)
	is "$(killed "$r")" True "kill at $op #$count: the commit was killed there"
	diag "journal lines written before the kill: $(json_get - 'j["counts"]' <<<"$r")"
	if [ "$recover" = commit ] && grep -q '"op":"end"' "$J"; then
		# The kill landed just after the commit ended (the last points are microseconds
		# apart): then it stands, and a second commit is refused.
		diag "the commit ended before the kill landed"
		"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
		is "$?" 1 "kill at $op #$count: the finished commit stands"
	elif [ "$recover" = commit ]; then
		"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
		is "$?" 0 "kill at $op #$count: the next commit exits 0"
		[ -s "$T/err" ] && sed 's/^/# /' "$T/err"
	fi
	if [ "$recover" = commit ]; then
		check "kill at $op #$count: the host is exactly the committed tree" state post
		is "$("$AIRLOCK" show --json "$id" | json_get - 'j["state"]')" committed \
			"kill at $op #$count: the session is committed"
		"$AIRLOCK" undo "$id" >/dev/null 2>&1
		is "$?" 0 "kill at $op #$count: and undo exits 0"
		check "kill at $op #$count: then the host is exactly the original tree" state pre
	else
		"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
		is "$?" 0 "kill at $op #$count: the next undo exits 0"
		[ -s "$T/err" ] && sed 's/^/# /' "$T/err"
		check "kill at $op #$count: the host is exactly the original tree" state pre
		is "$("$AIRLOCK" show --json "$id" | json_get - 'j["state"]')" undone \
			"kill at $op #$count: the session is undone"
	fi
}

round begin 1 commit	  # while the plan is written
round batch 1 undo	  # while the first batch's new entries are made, before any start line
round start 1 commit	  # right after the first batch is journalled: mid-batch
round done 600 undo	  # after some hundred steps
round start $((nchanges - 300)) commit # mid a later batch
round done $((nchanges - 50)) undo # near the end
round result 1 commit	  # every step done, the results being recorded

# After the end line, before meta.json says so: the next command must see a finished commit.
# The window is a few microseconds: the kill may come after the commit finished. Either way
# the checks below must hold; which one happened is only reported.
r=$(killat end 1 -- "$AIRLOCK" commit "$id" --all)
diag "kill after the end line: killed there: $(killed "$r")"
check "after the end line: the host is exactly the committed tree" state post
"$AIRLOCK" commit "$id" --all >/dev/null 2>"$T/err"
is "$?" 1 "after the end line: a second commit is refused"
check "... as already committed" grep -q "already committed" "$T/err"
is "$("$AIRLOCK" show --json "$id" | json_get - 'j["state"]')" committed \
	"after the end line: the record says committed"

# An undo killed mid-way is finished by the next undo.
r=$(killat undone 700 -- "$AIRLOCK" undo "$id")
is "$(killed "$r")" True "kill an undo after 700 steps: killed there"
"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
is "$?" 0 "the next undo exits 0"
[ -s "$T/err" ] && sed 's/^/# /' "$T/err"
check "the host is exactly the original tree" state pre

# A commit killed mid-way, then the next commit killed while it rolls the first back, then a
# third commit: it finishes the rollback and commits.
r=$(killat start 1200 -- "$AIRLOCK" commit "$id" --all)
is "$(killed "$r")" True "kill a commit at start #1200: killed there"
r=$(killat undone 300 -- "$AIRLOCK" commit "$id" --all)
is "$(killed "$r")" True "kill the next commit while it rolls back: killed there"
"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
is "$?" 0 "the third commit exits 0"
check "it says it rolled back first" grep -q "rolling back" "$T/out"
check "the host is exactly the committed tree" state post
"$AIRLOCK" undo "$id" >/dev/null 2>&1
check "and undo gives exactly the original tree" state pre

check "no temporary entry is left on the host" \
	test -z "$(find "$P" -name '.airlock-commit-*' -print -quit)"
"$AIRLOCK" verify "$id" >"$T/out" 2>&1
is "$?" 0 "the record verifies after every kill"
done_testing
