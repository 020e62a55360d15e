#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile names and contents through run, show, diff, commit and undo: a file whose name holds
# an escape sequence, a newline and invalid UTF-8, a binary file, a 50 MB file, and 20,000 files.
# Each command must exit as it should, put the exact bytes on the host, take them back, and
# never write a raw ESC byte from a name to a terminal or to stderr.
. "$(dirname "$0")/../lib.sh"
require_sandbox

TREE=$TESTS_DIR/helpers/tree.py
sum() { "$PY" "$TREE" sum "$@"; }
ESC=$'\x1b'
# A name with a colour escape, a window-title escape, a newline and a byte that is not UTF-8.
EVIL=$'evil\x1b[31mred\x1b]0;pwned\x07\nline2\xff.txt'
# no_esc FILE: the file holds no raw ESC byte.
no_esc() { ! LC_ALL=C grep -q "$ESC" "$1"; }

H=$T/hostile
mkdir -p "$H"
echo "host file" >"$H/plain.txt"
pre=$(sum "$H" --dirtimes)
cat >"$T/make.py" <<'PY'
import hashlib, os, sys
H, evil = sys.argv[1], os.fsencode(sys.argv[2])
root = os.fsencode(H)
with open(os.path.join(root, evil), "wb") as f:
    f.write(b"content with an escape \x1b[2J and a bell \x07\n")
with open(os.path.join(H, "binary.bin"), "wb") as f:
    f.write(bytes(range(256)) * 64 + b"\0\0\xff\xfe")
# 50 MB: zeros with a little noise, so that the patch of it stays small.
with open(os.path.join(H, "big.bin"), "wb") as f:
    block = bytearray(1 << 20)
    for i in range(50):
        block[i * 997 % len(block)] = i + 1
        f.write(block)
PY
# The program prints the sandbox's view of the tree: what diff and commit must reproduce.
al_run -- sh -c '"$1" "$2" "$3" "$4" && "$1" "$5" sum "$3" --times' _ "$PY" "$T/make.py" "$H" \
	"$EVIL" "$TREE" >"$T/want" 2>"$T/err"
is "$?" 0 "run: the program writes a hostile name, a binary file and a 50 MB file"
id=$(last_session)
is "$(sum "$H" --dirtimes)" "$pre" "run: the host is untouched"
check "run: its summary holds no raw ESC" no_esc "$T/err"

# show, on a pipe and on a terminal
"$AIRLOCK" show "$id" >"$T/show" 2>&1
is "$?" 0 "show exits 0"
check "show: no raw ESC byte from the name" no_esc "$T/show"
check "show: the name is shown escaped" grep -qF 'evil\e[31mred\e]0;pwned\x07\nline2\xff.txt' "$T/show"
is "$(sed -n '/^changes/,/^$/p' "$T/show" | grep -c '^  ')" 3 \
	"show: three changes, one line each (the newline in the name does not break a line)"
if command -v script >/dev/null; then
	script -qec "NO_COLOR=1 '$AIRLOCK' show $id" /dev/null >"$T/tty" 2>&1
	check "show on a terminal: no raw ESC byte" no_esc "$T/tty"
	check "show on a terminal: the name is shown escaped" grep -qF 'evil\e[31mred' "$T/tty"
	# In colour, airlock's own escapes are there, but never one from the name.
	script -qec "'$AIRLOCK' show --color=always $id" /dev/null >"$T/tty-colour" 2>&1
	check "show --color=always colours" grep -q "$ESC" "$T/tty-colour"
	check "show in colour: no raw escape from the name" \
		sh -c "! grep -qF \"\$(printf 'evil\\033[31mred')\" '$T/tty-colour' && ! grep -qF \"\$(printf '\\033]0;pwned')\" '$T/tty-colour'"
	check "show in colour: the name is shown escaped" grep -qF 'evil\e[31mred' "$T/tty-colour"
else
	skip "show on a terminal: no raw ESC byte" "no script(1)"
	skip "show on a terminal: the name is shown escaped" "no script(1)"
fi
"$AIRLOCK" show --json "$id" >"$T/show.json"
is "$(jf show 'sorted(c["path"].rsplit("/", 1)[1] for c in j["changes"])')" \
	"['big.bin', 'binary.bin', 'evil\\x1b[31mred\\x1b]0;pwned\\x07\\nline2\\\\xff.txt']" \
	"show --json: the names, invalid UTF-8 written as \\\\xff"

# diff: to a pipe the patch applies and reproduces the files; on a terminal it is escaped.
"$AIRLOCK" diff "$id" >"$T/patch" 2>"$T/diff.err"
is "$?" 0 "diff exits 0"
check "diff: its warnings hold no raw ESC" no_esc "$T/diff.err"
if command -v git >/dev/null; then
	C=$T/copy
	mkdir -p "$C" && cp -a "$H/." "$C/"
	n=$(($(tr -cd / <<<"$H" | wc -c) + 1))
	(cd "$C" && git apply -p"$n" "$T/patch") 2>"$T/apply.err"
	is "$?" 0 "diff: git apply accepts the patch"
	sed 's/^/# /' "$T/apply.err" | head -5
	is "$(sum "$C")" "$(sed 's/ [0-9]*$//' "$T/want")" \
		"diff: applied to a copy, it reproduces the sandbox's files"
else
	skip "diff: git apply accepts the patch" "git is not installed"
	skip "diff: applied to a copy, it reproduces the sandbox's files" "git is not installed"
fi
if command -v script >/dev/null; then
	script -qec "'$AIRLOCK' diff $id" /dev/null >"$T/dtty" 2>&1
	# The patch's own colours are not the name's: look for the name's escapes only.
	if LC_ALL=C grep -q "$ESC\\[31mred\\|$ESC\\]0;pwned\\|$ESC\\[2J" "$T/dtty"; then
		not_ok "diff on a terminal: no escape sequence from a name or content written raw"
	else
		ok "diff on a terminal: no escape sequence from a name or content written raw"
	fi
else
	skip "diff on a terminal: no escape sequence from a name or content written raw" "no script(1)"
fi

# commit: a conflict on the hostile name is reported escaped; then everything lands exactly.
printf 'in the way\n' >"$H/$EVIL"
"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
is "$?" 1 "commit: a conflict on the hostile name refuses"
check "commit: the refusal holds no raw ESC" no_esc "$T/err"
check "commit: ... and names the path escaped" grep -qF 'evil\e[31mred' "$T/err"
rm "$H/$EVIL"
pre=$(sum "$H" --dirtimes) # the directory's mtime moved with the file in the way
"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit --all exits 0"
check "commit: its output holds no raw ESC" no_esc "$T/out"
is "$(sum "$H" --times)" "$(cat "$T/want")" \
	"commit: the host holds the exact bytes, names, modes and mtimes"
is "$(stat -c %s "$H/big.bin")" 52428800 "commit: the 50 MB file is whole"
"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
is "$?" 0 "undo exits 0"
is "$(sum "$H" --dirtimes)" "$pre" "undo: the host is exactly as before"

# --- 20,000 files ---------------------------------------------------------------------------
M=$T/many
mkdir -p "$M"
echo keep >"$M/keep.txt"
pre=$(sum "$M" --dirtimes)
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
t0=$(date +%s%N)
al_run -- "$PY" -c 'import os, sys
for d in range(200):
    p = os.path.join(sys.argv[1], "d%03d" % d)
    os.mkdir(p)
    for i in range(100):
        with open(os.path.join(p, "f%03d" % i), "w") as f:
            f.write("file %d %d\n" % (d, i))' "$M" >/dev/null 2>"$T/err"
is "$?" 0 "run: the program writes 20,000 files"
diag "run of 20,000 files: $(ms "$t0") ms"
id=$(last_session)
t0=$(date +%s%N)
"$AIRLOCK" show "$id" >"$T/show"
is "$?" 0 "show of 20,000 files exits 0"
diag "show: $(ms "$t0") ms"
check "show lists 20,200 changes" grep -q '^changes (20200)$' "$T/show"
t0=$(date +%s%N)
"$AIRLOCK" diff "$id" >"$T/patch"
is "$?" 0 "diff of 20,000 files exits 0"
diag "diff: $(ms "$t0") ms"
is "$(grep -c '^diff --git' "$T/patch")" 20000 "diff: 20,000 files in the patch"
t0=$(date +%s%N)
"$AIRLOCK" commit "$id" --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit of 20,000 files exits 0"
diag "commit: $(ms "$t0") ms"
is "$(find "$M" -type f | wc -l)" 20001 "commit: every file is on the host"
meta=$AIRLOCK_STATE_DIR/sessions/$id/meta.json
is "$(json_get "$meta" '(j["commit"]["applied"], "paths" in j["commit"])')" "(20200, False)" \
	"meta.json counts the 20,200 applied changes instead of listing them"
check "meta.json stays small (under 64 KiB)" test "$(stat -c %s "$meta")" -lt 65536
t0=$(date +%s%N)
"$AIRLOCK" undo "$id" >"$T/out" 2>"$T/err"
is "$?" 0 "undo of 20,000 files exits 0"
diag "undo: $(ms "$t0") ms"
is "$(sum "$M" --dirtimes)" "$pre" "undo: the host is exactly as before"
"$AIRLOCK" verify "$id" >/dev/null 2>&1
is "$?" 0 "the record verifies"
done_testing
