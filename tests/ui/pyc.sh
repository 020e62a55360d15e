#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stray .pyc files among a directory's sources are generated noise too: they are folded into
# one "*.pyc" line of the directory with their count, which a, d and Space decide as a folded
# directory (asking first when they are more than a screenful); a directory of nothing but
# .pyc stays one folded directory line, and a directory named like one is no .pyc file.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
al_run -- "$PY" -c '
import os
os.makedirs("src")
open("src/a.py", "w").write("a = 1\n")
open("src/z.py", "w").write("z = 1\n")
for i in range(30):
    open("src/m%02d.cpython-311.pyc" % i, "wb").write(b"\0\1")
os.makedirs("src/sub")
open("src/sub/b.py", "w").write("b = 1\n")
os.makedirs("legacy")
open("legacy/old.pyc", "wb").write(b"\0")
open("legacy/older.pyc", "wb").write(b"\0")
os.makedirs("pkg.pyc")
open("pkg.pyc/f.py", "w").write("f = 1\n")' 2>/dev/null
ID=$(last_session)

ui '<Dump>'
is "$(screen 1 | sed -n '2,11p')" " [+]          v T/proj/                     +40 -0 ?0 !0
 [+]   dir+     > legacy/ (generated)                    3 changes  +3 -0 ?0 !0
 [+]   dir+     v pkg.pyc/                                          +2 -0 ?0 !0
 [+]   add        f.py                                                    +1 -0
 [+]   dir+     v src/                                             +35 -0 ?0 !0
 [+]   add        a.py                                                    +1 -0
 [+]   add        z.py                                                    +1 -0
 [+]              > *.pyc (generated)                  30 changes  +30 -0 ?0 !0
 [+]   dir+       v sub/                                            +2 -0 ?0 !0
 [+]   add          b.py                                                  +1 -0" "the stray .pyc files are one folded line of their directory, with their count"

# The line acts as a folded directory.
ui '/*.pyc<Enter><Dump> <Dump>n<Dump> <Dump>y<Dump><Enter><Dump>q'
check "its status row names it with its counts" \
	grep -q '^T/proj/src/\*\.pyc: 30 changes: 30 approved, 0 denied' <(screen 1)
check "... generated, folded" grep -q '^generated files; l unfolds it' <(screen 1)
check "Space on it asks first: more than a screenful" \
	grep -q '| Deny 30 changes in T/proj/src/\*\.pyc' <(screen 2)
check "n changes nothing" grep -q '^nothing changed' <(screen 3)
check "... the .pyc files still approved" \
	grep -qE '^ \[\+\] +> \*\.pyc \(generated\) +30 changes  \+30 -0 \?0 !0$' <(screen 3)
check "y denies all 30" grep -qE '^ \[-\] +> \*\.pyc \(generated\) +30 changes  \+0 -30 \?0 !0$' <(screen 5)
check "... and nothing else" grep -qE '^ \[\+\]   add        a\.py ' <(screen 5)
check "Enter unfolds it" grep -qE '^ \[-\]   add          m00\.cpython-311\.pyc +binary$' <(screen 6)

# The decisions hold: the commit applies the sources, not the denied .pyc files.
"$AIRLOCK" commit "$ID" >/dev/null 2>&1
check "the sources are committed" test -f "$P/src/a.py" -a -f "$P/src/sub/b.py"
check "the denied .pyc files are not" test ! -e "$P/src/m00.cpython-311.pyc"

done_testing
