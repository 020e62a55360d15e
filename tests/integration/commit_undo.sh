#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock undo` never loses a host change made after the commit without being told to: an
# edited file, a file added in a directory the commit made, something created where the commit
# deleted, a changed mode; each is refused by name with exit 1 and the host left as it is, and
# --force undoes anyway. A directory on the way swapped for a symlink is refused even with
# --force. Removing a committed file is no conflict: undo loses nothing there.
. "$(dirname "$0")/../lib.sh"
require_sandbox

TREE=$TESTS_DIR/helpers/tree.py
sum() { "$PY" "$TREE" sum "$@"; }
state() { "$AIRLOCK" show --json "$1" | json_get - 'j["state"]'; }

U=$T/proj
mkdir -p "$U/d" "$T/outside"
echo one >"$U/a.txt"
echo two >"$U/b.txt"
echo in >"$U/d/in.txt"
touch -d '2020-01-02 03:04:05' "$U/a.txt" "$U/b.txt" "$U/d/in.txt" "$U/d" "$U"
pre=$(sum "$U" --dirtimes)
al_run -- sh -c 'cd "$1" && echo more >>a.txt && rm b.txt && echo new >new.txt &&
	mkdir nd && echo x >nd/x.txt && echo changed >d/in.txt' _ "$U" >/dev/null 2>&1
is "$?" 0 "the sandbox run changes the project"
id=$(last_session)

commit() {
	"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
	is "$?" 0 "$1: commit exits 0"
}

# refused DESC PATH REASON: undo exits 1 naming PATH with REASON; the host stays as it is.
refused() {
	local desc=$1 path=$2 reason=$3 before
	before=$(sum "$U" --dirtimes)
	"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
	is "$?" 1 "$desc: undo is refused"
	check "$desc: the refusal names $path" grep -qF "$path: $reason" "$T/err"
	check "$desc: it says nothing was undone" grep -q "nothing undone" "$T/err"
	is "$(sum "$U" --dirtimes)" "$before" "$desc: the host is left as it is"
	is "$(state "$id")" committed "$desc: the session stays committed"
}

commit "an edited file"
echo "edited after the commit" >>"$U/a.txt"
refused "an edited file" "$U/a.txt" "it changed on the host after the commit"
check "... and --force is offered" grep -q -- "--force" "$T/err"
"$AIRLOCK" undo "$id" --force >"$T/out" 2>"$T/err"
is "$?" 0 "an edited file: undo --force exits 0"
is "$(sum "$U" --dirtimes)" "$pre" "an edited file: --force restores the original tree exactly"
is "$(state "$id")" undone "an edited file: the session is undone"
check "the event log records the refused path" \
	grep -q '"class":"undo".*"decision":"conflict"' "$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$id/meta.json" 'j["undo"]["forced"]')" 1 \
	"meta.json records that the undo was forced over one path"

commit "a file added in a new directory"
echo "mine" >"$U/nd/mine.txt"
refused "a file added in a new directory" "$U/nd" "mine.txt was added in it after the commit"
rm "$U/nd/mine.txt"
"$AIRLOCK" undo "$id" >/dev/null 2>&1
is "$?" 0 "once it is gone again, undo exits 0"
is "$(sum "$U" --dirtimes)" "$pre" "... and restores the original tree exactly"

commit "something created where the commit deleted"
echo "new b" >"$U/b.txt"
refused "something created where the commit deleted" "$U/b.txt" \
	"something was created at this path after the commit"
rm "$U/b.txt"

chmod 600 "$U/new.txt"
refused "a changed mode" "$U/new.txt" "its mode changed on the host after the commit"
chmod 644 "$U/new.txt"

rm "$U/new.txt"
"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
is "$?" 0 "a committed file removed since: undo goes on (nothing is lost)"
check "the original files are back" test "$(cat "$U/a.txt")" = one -a "$(cat "$U/b.txt")" = two
check "the removed file stays removed" test ! -e "$U/new.txt"

# A directory on the way replaced by a symlink to outside: refused, even with --force.
commit "a symlinked directory"
mv "$U/d" "$U/d.moved"
ln -s "$T/outside" "$U/d"
"$AIRLOCK" undo "$id" --force >"$T/out" 2>"$T/err"
is "$?" 1 "a directory swapped for a symlink: undo --force is refused"
check "... naming the path" grep -qF "$U/d/in.txt: a directory on the way" "$T/err"
is "$(ls -A "$T/outside")" "" "nothing was written through the symlink"
rm "$U/d"
mv "$U/d.moved" "$U/d"
"$AIRLOCK" undo "$id" >/dev/null 2>&1
is "$?" 0 "with the directory back, undo exits 0"
"$AIRLOCK" verify "$id" >/dev/null 2>&1
is "$?" 0 "the record verifies"
done_testing
