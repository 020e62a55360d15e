#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-hunk decisions: a program changes a file in three places; the review (headless) approves
# hunks 1 and 3 and denies 2; the host then gets exactly those, byte for byte, from the review
# and from `airlock commit` alike; undo puts the original back; a side changed since the
# review is a conflict that writes nothing of the file, even with --force. Content a program
# may use against it: CRLF, no newline at the end, lines posing as diff headers, NUL bytes.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
"$PY" - <<'PY'
open("f.txt", "w").write("".join("line %d\n" % i for i in range(1, 31)))
# CRLF, lines that look like a patch's own, and no newline at the end.
lines = ["row %d\r\n" % i for i in range(1, 31)]
lines[3] = "@@ -1,2 +1,2 @@\r\n"
lines[20] = "diff --git a/x b/x\r\n"
lines[29] = "\\ No newline at end of file"
open("odd.txt", "wb").write("".join(lines).encode())
open("bin.dat", "wb").write(b"".join(b"%d\0\n" % i for i in range(40)))
PY
cp f.txt "$T/f.orig"
cp odd.txt "$T/odd.orig"
cat >"$T/agent.py" <<'PY'
s = open("f.txt").read().split("\n")
s[1], s[14], s[27] = "TWO", "FIFTEEN", "TWENTY-EIGHT"
open("f.txt", "w").write("\n".join(s))
b = open("odd.txt", "rb").read().split(b"\r\n")
b[1] = b"ROW 2 @@ -9 +9 @@"
b[29] = b"+++ b/y\\ No newline at end of file"
open("odd.txt", "wb").write(b"\r\n".join(b))
d = open("bin.dat", "rb").read().replace(b"1\0", b"X\0", 1)
open("bin.dat", "wb").write(d)
PY
al_run -- "$PY" "$T/agent.py" 2>"$T/run.err"
ID=$(last_session)
"$PY" - "$T" <<'PY'
import sys
t = sys.argv[1]
s = open(t + "/f.orig").read().split("\n")
s[1], s[27] = "TWO", "TWENTY-EIGHT"
open(t + "/f.want", "w").write("\n".join(s))
b = open(t + "/odd.orig", "rb").read().split(b"\r\n")
b[1] = b"ROW 2 @@ -9 +9 @@"
open(t + "/odd.want", "wb").write(b"\r\n".join(b))
PY

# The list: the directory's row, then bin.dat (where it starts), f.txt, odd.txt, each indented
# under it. f.txt's diff: a on hunk 1 (and on to 2), d on 2, a on 3.
ui 'j<Enter><Dump>a<Dump>d<Dump>a<Dump>q<Dump>'
check "the diff marks the hunk under the cursor" grep -q '^> \[+\] @@ -1,5 +1,5 @@' <(screen 1)
check "and the others with their decision" grep -q '^  \[+\] @@ -12,7 +12,7 @@' <(screen 1)
check "d denies hunk 2" grep -q 'hunk 2 of 3 denied; the file: approved in part (hunks 1, 3 of 3)' <(screen 3)
check "the list marks the file approved in part" grep -q '^ \[~\]   mod      f.txt' <(screen 5)
check "the status says which hunks" grep -q '^approved in part (hunks 1, 3 of 3)' <(screen 5)
is "$(json_get <("$AIRLOCK" show --json "$ID") \
	'[c.get("hunks") for c in j["changes"] if c["path"].endswith("/f.txt")][0]')" \
	"{'count': 3, 'approved': [1, 3], 'denied': [2], 'undecided': []}" \
	"show --json says which hunks are approved"
ui '<Dump>'
check "a new review restores the hunks" grep -q '^ \[~\]   mod      f.txt' <(screen 1)

# The odd file: CRLF, header look-alikes, no newline at the end; approve hunk 1, deny 2.
ui 'jj<Enter><Dump>ad<Dump>q'
check "the odd file has two hunks" grep -q '^> \[+\] @@ ' <(screen 1)
check "git's no-newline marker is shown once-escaped" grep -q '^\\ No newline at end of file$' <(screen 2)
check "the file's own backslash is escaped" grep -qF '++++ b/y\\ No newline at end of file' <(screen 2)
check "and so is a content line that looks like the marker" grep -qF -- '-\\ No newline at end of file' <(screen 2)
# A binary file is decided whole: a in its diff approves it, no hunk marks.
ui '<Enter><Dump>d<Dump>'
check "a binary diff has no hunk marks" bash -c "! grep -q '^> \[' <(sed -n '/^--$/q;p' '$T/dump')"
check "d in it denies the whole file" grep -q 'the whole file: denied' <(screen 2)

ui 'c<Dump>y'
check "the review commits" grep -q "committed 2 changes of session $ID" "$T/out"
check "the host's f.txt has exactly hunks 1 and 3" cmp "$P/f.txt" "$T/f.want"
check "odd.txt has exactly its hunk 1, byte for byte" cmp "$P/odd.txt" "$T/odd.want"
check "the denied binary file is not written" bash -c "! grep -q 'X' '$P/bin.dat'"
is "$(json_get <("$AIRLOCK" show --json "$ID") 'j["state"]')" committed "the session is committed"

"$AIRLOCK" undo "$ID" >/dev/null 2>&1
check "undo puts f.txt back" cmp "$P/f.txt" "$T/f.orig"
check "and odd.txt" cmp "$P/odd.txt" "$T/odd.orig"

# airlock commit from the command line honours the saved hunk decisions.
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
check "airlock commit applies them" cmp "$P/f.txt" "$T/f.want"
check "to both files" cmp "$P/odd.txt" "$T/odd.want"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1
check "undo again" cmp "$P/f.txt" "$T/f.orig"

# The sandbox's side changed since the review (as a live session may): the same.
sdir=$AIRLOCK_STATE_DIR/sessions/$ID
upper=$(find "$sdir" -path '*/upper*' -name f.txt -type f 2>/dev/null | head -1)
check "the session holds f.txt" test -n "$upper"
echo "written after the review" >>"$upper"
"$AIRLOCK" commit "$ID" --force >"$T/out" 2>"$T/err"
is "$?" 1 "a sandbox change since the review refuses the commit"
check "saying the file changed in the session" grep -q 'changed in the session since its hunks were decided' "$T/err"
check "the host file is untouched" cmp "$P/f.txt" "$T/f.orig"
"$PY" - "$upper" <<'PY'
import sys
p = sys.argv[1]
d = open(p).read()
open(p, "w").write(d[: d.rindex("written after the review")])
PY
# The host's file changed since the review: nothing of it is written, even with --force.
echo "a host edit" >>"$P/f.txt"
cp "$P/f.txt" "$T/f.edited"
"$AIRLOCK" commit --force "$ID" >"$T/out" 2>"$T/err"
is "$?" 1 "a host change under decided hunks refuses the commit, --force or not"
check "it says --force cannot override it" grep -q 'f.txt: .*(--force cannot override this)' "$T/err"
check "nothing of the file is written" cmp "$P/f.txt" "$T/f.edited"
check "nor of the others" cmp "$P/odd.txt" "$T/odd.orig"
ui 'j<Enter><Dump>'
check "the review drops hunks decided on other content" grep -q 'changed since its hunks were decided: decide them again' "$T/err"

done_testing
