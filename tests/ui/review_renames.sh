#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Renames in the review, headless: a program renames a file in place, one into another
# directory and one it then edits with sed -i. Each rename's new path's row reads
# "old -> new" (the similarity when the content changed), the old path's row says where it
# went (each row indented under its directory's); Enter shows the rename's patch; denying
# one row denies the other, and the commit then keeps the old file and applies the other
# renames whole.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
mkdir -p "$P/sub"
echo alpha >"$P/a.txt"
echo beta >"$P/sub/b.txt"
seq 1 20 >"$P/old.txt"
cd "$P" || exit 1
al_run -- sh -c 'mv a.txt a2.txt && mv sub/b.txt top.txt && mv old.txt new.txt &&
	sed -i "s/^5\$/five/" new.txt' 2>"$T/run.err"
ID=$(last_session)

. "$TESTS_DIR/ui/screen.bash"

# 100 columns: the old row of a rename from sub/ names the new path in full, indented twice.
UI_SIZE=100x24 ui '<Dump>'
list=$(screen 1)
row() { grep -qE -- "$1" <<<"$list"; }
check "a rename in place: the new path's row reads old -> new" row '^ \[\+\]   ren      a\.txt -> a2\.txt +\+0 -0$'
check "... the old path's row says where it went" row '^ \[\+\]   del      a\.txt  \(renamed to a2\.txt\)'
check "an edited rename shows its similarity and its counts" row '^ \[\+\]   ren      old\.txt -> new\.txt  \(90% similar\) +\+1 -1$'
check "a rename from another directory names the old path in full" row "^ \\[\\+\\]   ren      T/proj/sub/b\\.txt -> top\\.txt"
check "... and the old row the new path in full" row '^ \[\+\]   del        b\.txt  \(renamed to T/proj/top\.txt\)'

# Enter on the rename: its patch, with git's rename header.
ui 'j<Enter><Dump>'
check "Enter shows the rename's patch" grep -qF 'rename from' <(screen 1)
check "... from the old path to the new" grep -qF "rename to ${P#/}/a2.txt" <(screen 1)
check "... under a line that says it is one decision" grep -qF "renamed, 100% similar: one decision for its deletion and addition" <(screen 1)

# d on sub/'s row (h folds it and selects it) denies b.txt's deletion there and so its
# rename out of sub/; a approves both again.
UI_SIZE=100x24 ui 'jjjjjhd<Dump>'
check "denying a directory denies the renames out of it" \
	grep -qE '^ \[-\]   ren      T/proj/sub/b\.txt -> top\.txt' <(screen 1)
check "... and its own change" grep -qE '^ \[-\]            > sub/ +1 change  \+0 -1 \?0 !0$' <(screen 1)
UI_SIZE=100x24 ui 'jjjjjha<Dump>'
check "approving the directory approves the rename again" \
	grep -qE '^ \[\+\]   ren      T/proj/sub/b\.txt -> top\.txt' <(screen 1)

# d on the new path's row denies the old path's too; the commit applies the rest.
ui 'jd<Dump>cy'
after=$(screen 1)
check "denying the rename's row denies both of its rows" \
	grep -qE '^ \[-\]   del      a\.txt  \(renamed to a2\.txt\)' <<<"$after"
check "... the new one too" grep -qE '^ \[-\]   ren      a\.txt -> a2\.txt' <<<"$after"
check "the denied rename did not happen: a.txt stays" test -f "$P/a.txt"
check "... and a2.txt is not there" test ! -e "$P/a2.txt"
check "the approved rename across directories moved the file" sh -c "[ ! -e '$P/sub/b.txt' ] && [ \"\$(cat '$P/top.txt')\" = beta ]"
check "the approved edited rename: old.txt gone, new.txt edited" \
	sh -c "[ ! -e '$P/old.txt' ] && grep -qx five '$P/new.txt'"

# A rename whose halves two commands made (cp, then rm: paired by content): D in one
# command's file list denies the other command's half too, so the commit applies neither.
P2=$T/proj2
mkdir -p "$P2"
echo alpha >"$P2/a.txt"
cd "$P2" || exit 1
al_run -- sh -c 'cp a.txt b.txt; rm a.txt' 2>"$T/run2.err"
ID=$(last_session)
ui '<Tab>jj<Enter>D<Dump>cy'
check "D in rm's file list denies the deletion" grep -qE '^ \[-\]   del ' <(screen 1)
check "... and the commit leaves a.txt" test -f "$P2/a.txt"
check "... without the rename's other half, b.txt, made by cp" test ! -e "$P2/b.txt"

done_testing
