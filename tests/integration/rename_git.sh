#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Renames as git finds them: for each case, a program edits and renames host files in a
# sandbox, and the same script runs bare in a git repository of the same files. `airlock diff
# --name-status` says what `git diff -M --name-status` says of the two trees (a file saved in
# place through a temporary file, as sed -i, an editor or os.replace() do, keeps its identity:
# a later mv of it is a rename), `airlock show --json` pairs the same changes, the review's
# rows read the same rename and deny it as one, and the commit leaves the host as the script
# left the bare copy.
. "$(dirname "$0")/../lib.sh"
require_sandbox

if ! command -v git >/dev/null; then
	skip "renames compared with git" "git is not installed"
	done_testing
	exit
fi

# The files every case starts from: lines enough for git's similarity to be a few percent.
seed() {
	mkdir -p "$1"
	seq 1 20 >"$1/f.txt"
	seq 101 130 >"$1/a.txt"
	seq 201 225 >"$1/b.txt"
}

# The pairs of the changes in show --json: "R old new" for each addition renamed from old,
# sorted (the old paths relative to the project).
show_pairs() {
	"$AIRLOCK" show --json "$1" | "$PY" -c '
import json, sys
p = sys.argv[1] + "/"
for c in json.load(sys.stdin)["changes"]:
    if c.get("renamed_from"):
        print("R", c["renamed_from"].replace(p, ""), c["path"].replace(p, ""))
' "$2" | sort
}

# git's name-status rows, as R<score> old new, turned into show_pairs' form.
git_pairs() { awk -F'\t' '/^R/ { print "R", $2, $3 }' "$1" | sort; }

# compare NAME SCRIPT: run SCRIPT in a sandbox on a fresh project and bare in a git copy.
compare() {
	local name=$1 script=$2 P=$T/$1 G=$T/$1.git id
	seed "$P"
	seed "$G"
	git -C "$G" init -q && git -C "$G" add -A &&
		git -C "$G" -c user.name=t -c user.email=t@t commit -qm before || return
	(cd "$G" && sh -c "$script") || return
	git -C "$G" add -A
	git -C "$G" diff -M --cached --name-status >"$T/$name.want"
	(cd "$P" && al_run -- sh -c "$script" >/dev/null 2>&1)
	id=$(last_session)
	"$AIRLOCK" diff --name-status --relative="$P" "$id" >"$T/$name.got" 2>"$T/$name.err"
	is "$?" 0 "$name: airlock diff --name-status exits 0"
	if diff "$T/$name.want" "$T/$name.got" >"$T/$name.diff"; then
		ok "$name: airlock diff --name-status says what git diff -M says"
	else
		not_ok "$name: airlock diff --name-status says what git diff -M says"
		sed 's/^/# /' "$T/$name.diff"
	fi
	is "$(show_pairs "$id" "$P")" "$(git_pairs "$T/$name.want")" "$name: show --json pairs the same renames"
	"$AIRLOCK" commit "$id" >/dev/null 2>"$T/$name.commit.err"
	is "$?" 0 "$name: the session commits"
	rm -rf "$G/.git"
	if diff -r "$G" "$P" >"$T/$name.tree" 2>&1; then
		ok "$name: the host is what the script left run bare"
	else
		not_ok "$name: the host is what the script left run bare"
		sed 's/^/# /' "$T/$name.tree"
	fi
	ID=$id
}

# Each case, and what git says of it (checked too: a case must show what it is named for).
want() {
	grep -qxF -- "$1" "$T/$2.want" && return
	diag "$2: git says: $(tr '\t\n' ' ;' <"$T/$2.want")"
	return 1
}
compare sed_then_mv 'sed -i s/^5$/five/ f.txt && mv f.txt g.txt'
check "sed -i then mv: git says a rename" want $'R090\tf.txt\tg.txt' sed_then_mv
compare mv_then_sed 'mv f.txt g.txt && sed -i s/^5$/five/ g.txt'
check "mv then sed -i: git says a rename" want $'R090\tf.txt\tg.txt' mv_then_sed
compare atomic_save "$PY"' -c "
import os
with open(\"f.txt.tmp\", \"w\") as f:
    f.write(open(\"f.txt\").read().replace(\"7\", \"seven\"))
os.replace(\"f.txt.tmp\", \"f.txt\")"'
check "an atomic save over the file: git says modified" want $'M\tf.txt' atomic_save
compare atomic_save_then_mv "$PY"' -c "
import os
with open(\"f.txt.tmp\", \"w\") as f:
    f.write(open(\"f.txt\").read().replace(\"7\", \"seven\"))
os.replace(\"f.txt.tmp\", \"f.txt\")
os.rename(\"f.txt\", \"h.txt\")"'
check "an atomic save, then a rename: git says a rename" want $'R077\tf.txt\th.txt' atomic_save_then_mv
compare chain 'mv a.txt x.txt && mv x.txt y.txt && sed -i s/^110$/ten/ y.txt && mv y.txt z.txt'
check "a rename chain: git says one rename" want $'R096\ta.txt\tz.txt' chain
compare swap 'mv a.txt t.tmp && mv b.txt a.txt && mv t.tmp b.txt'
check "a swap through a temporary name: git says both modified" want $'M\ta.txt' swap
compare onto 'mv a.txt b.txt'
check "a rename onto another host file: git says deleted" want $'D\ta.txt' onto
check "... and the other modified" want $'M\tb.txt' onto
compare onto_then_mv 'sed -i s/^110$/ten/ a.txt && mv a.txt b.txt && mv b.txt c.txt'
check "a rename onto another host file, then on: git says a rename of the first" \
	want $'R096\ta.txt\tc.txt' onto_then_mv
compare old_name_again 'mv f.txt g.txt && echo new >f.txt'
check "a rename, then a new file at the old name: git says modified" want $'M\tf.txt' old_name_again
check "... and added" want $'A\tg.txt' old_name_again
compare twice_saved 'sed -i s/^5$/five/ f.txt && sed -i s/^6$/six/ f.txt && mv f.txt g.txt'
check "sed -i twice, then mv: git says a rename" want $'R083\tf.txt\tg.txt' twice_saved

# The review reads the first case's rename as diff does: one row old -> new, with its score.
P=$T/review
seed "$P"
(cd "$P" && al_run -- sh -c 'sed -i s/^5$/five/ f.txt && mv f.txt g.txt' >/dev/null 2>&1)
ID=$(last_session)
. "$TESTS_DIR/ui/screen.bash"
UI_SIZE=100x24 ui '<Dump>'
check "the review's row: sed -i then mv is a rename" \
	grep -qE '^ \[\+\]   ren      f\.txt -> g\.txt  \(90% similar\)' <(screen 1)
check "... and the old path's row says where it went" \
	grep -qE '^ \[\+\]   del      f\.txt  \(renamed to g\.txt' <(screen 1)

# One decision for both: denying the deletion denies the addition, and the commit then
# leaves the host as it was (the file not edited, not moved).
UI_SIZE=100x24 ui 'jd<Dump>cy'
check "denying the old path's row denies the rename's row too" \
	grep -qE '^ \[-\]   ren      f\.txt -> g\.txt' <(screen 1)
check "... and the commit leaves f.txt as it was" sh -c "seq 1 20 | cmp -s - '$P/f.txt'"
check "... without g.txt" test ! -e "$P/g.txt"

done_testing
