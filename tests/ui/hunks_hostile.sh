#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The diff view of a file decided hunk by hunk, when the program chose what its hunks hold:
# terminal controls (ESC, C1 CSI, BEL), bidirectional and invisible characters (zero-width
# space, Unicode tags), bytes that are not UTF-8 and lines posing as hunk headers are all
# shown escaped, and the hunks stay the ones the file has, each decided for itself.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
"$PY" -c 'open("f.txt", "w").write("".join("l%d\n" % i for i in range(1, 21)))'
cp f.txt "$T/f.orig"
cat >"$T/agent.py" <<'PY'
s = open("f.txt", "rb").read().split(b"\n")
s[1] = b"x\x1b[2J\x1b]0;pwned\x07 \xc2\x9b31m \xe2\x80\xae evil \xe2\x80\x8b \xf3\xa0\x81\x81 \xff"
s[17] = b"@@ -1,2 +1,2 @@ posing"
open("f.txt", "wb").write(b"\n".join(s))
PY
al_run -- "$PY" "$T/agent.py" 2>/dev/null
ID=$(last_session)

ui '<Enter><Dump>d<Dump>q'
check "no raw ESC, BEL or C1 control reaches the screen" \
	bash -c "! LC_ALL=C grep -q \$'[\\x1b\\x07]\\|\\xc2[\\x80-\\x9f]' '$T/dump'"
check "no bidi override, zero-width space or tag character either" \
	bash -c "! grep -q \$'\\xe2\\x80\\xae\\|\\xe2\\x80\\x8b\\|\\xf3\\xa0\\x81\\x81' '$T/dump'"
check "ESC is shown as \\e" grep -qF '+x\e[2J\e]0;pwned\x07' <(screen 1)
check "the others by their code point or byte" grep -qF '\u009b31m \u202e evil \u200b \U000e0041 \xff' <(screen 1)
check "the diff has its two hunks to decide" grep -q '^> \[+\] @@ -1,5 +1,5 @@$' <(screen 1)
check "the second one too" grep -q '^  \[+\] @@ -15,6 +15,6 @@ l14$' <(screen 1)
check "d denies hunk 1 alone" grep -q '^hunk 1 of 2 denied; the file: approved in part (hunks 2 of 2)$' <(screen 2)
check "a content line posing as a header is not one" grep -q '^+@@ -1,2 +1,2 @@ posing$' <(screen 2)
check "the cursor is on the real hunk 2" grep -q '^> \[+\] @@ -15,6 +15,6 @@ l14$' <(screen 2)

"$AIRLOCK" commit "$ID" >/dev/null 2>&1
"$PY" - "$T" <<'PY'
import sys
s = open(sys.argv[1] + "/f.orig").read().split("\n")
s[17] = "@@ -1,2 +1,2 @@ posing"
open(sys.argv[1] + "/f.want", "w").write("\n".join(s))
PY
check "the commit writes hunk 2 alone" cmp "$P/f.txt" "$T/f.want"

done_testing
