#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Renames in `airlock diff`: a program renames files (plain, into another directory, with an
# edit as sed -i makes it, with a mode change, a moved host directory, a binary file, an odd
# name), copies one and deletes the original, and renames one while rewriting most of it.
# The patch carries git's rename headers where git would, --name-status and --stat show them
# as git does, `git apply` of the patch in a pristine copy of the project gives what the same
# script gives run bare, and `airlock commit` leaves the host so too.
. "$(dirname "$0")/../lib.sh"
require_sandbox

if ! command -v git >/dev/null; then
	skip "renames apply with git apply" "git is not installed"
	done_testing
	exit
fi

P=$T/proj
NL=$'odd\nname.txt'
mkdir -p "$P/src/deep" "$P/docs" "$P/tree/sub"
seq 1 20 >"$P/plain.txt"
seq 1 20 >"$P/edited.txt"
seq 101 140 >"$P/src/moved.txt"
echo mode >"$P/tool"
printf 'bin\0\1\2\3\377data' >"$P/blob.bin"
echo copy-me >"$P/orig.txt"
seq 1 30 >"$P/rewritten.txt"
echo x >"$P/tree/x"
echo y >"$P/tree/sub/y"
echo odd >"$P/$NL"
: >"$P/empty-a"
: >"$P/empty-b"
echo keep >"$P/docs/keep.txt"
cp -a "$P" "$T/pristine"
cp -a "$P" "$T/bare"

cat >"$T/agent.sh" <<'SH'
set -e
mv plain.txt plain-renamed.txt
mv edited.txt edited2.txt
sed -i 's/^5$/five/' edited2.txt
mv src/moved.txt docs/moved.txt
mv tool tool2
chmod +x tool2
mv blob.bin blob2.bin
cp orig.txt copy.txt
rm orig.txt
mv rewritten.txt rewritten2.txt
seq 500 530 >rewritten2.txt
mv tree forest
mv "odd
name.txt" odd2.txt
rm empty-a
: >empty-c
SH
(cd "$T/bare" && sh "$T/agent.sh")
cd "$P" || exit 1
al_run -- sh "$T/agent.sh" >/dev/null 2>&1
ID=$(last_session)

"$AIRLOCK" diff --relative "$ID" >"$T/patch" 2>"$T/patch.err"
is "$?" 0 "diff --relative exits 0"
has() { grep -qxF -- "$1" "$T/patch"; }
check "a plain rename has git's header" has "diff --git a/plain.txt b/plain-renamed.txt"
check "... similarity 100%" grep -qzF $'similarity index 100%\nrename from plain.txt\nrename to plain-renamed.txt\n' "$T/patch"
check "a rename edited by sed -i (a save through a temporary file) is a rename with its hunk" \
	grep -qzF $'similarity index 90%\nrename from edited.txt\nrename to edited2.txt\nindex ' "$T/patch"
check "... whose hunk changes the line" grep -qzF -- $'-5\n+five\n' "$T/patch"
check "a rename into another directory" has "rename to docs/moved.txt"
check "a rename with a mode change: old and new mode first, as git" \
	grep -qzF $'diff --git a/tool b/tool2\nold mode 100644\nnew mode 100755\nsimilarity index 100%\n' "$T/patch"
check "an identical binary file is a rename" has "rename to blob2.bin"
check "a copy and a deletion of the same content is a rename too (as git finds it)" \
	grep -qzF $'rename from orig.txt\nrename to copy.txt\n' "$T/patch"
check "a file of a moved host directory" grep -qzF $'rename from tree/sub/y\nrename to forest/sub/y\n' "$T/patch"
check "an odd name is quoted as git quotes it" has 'rename from "odd\nname.txt"'
check "a renamed file that kept less than half is a deletion and an addition" \
	grep -qzF $'diff --git a/rewritten.txt b/rewritten.txt\ndeleted file mode' "$T/patch"
check "... the addition" grep -qzF $'diff --git a/rewritten2.txt b/rewritten2.txt\nnew file mode' "$T/patch"
check "empty files are not paired (as git)" grep -qzF $'diff --git a/empty-a b/empty-a\ndeleted file mode' "$T/patch"

"$AIRLOCK" diff --relative --name-status "$ID" >"$T/ns"
nsl() { grep -qxF -- "$1" "$T/ns"; }
check "--name-status: R100, the old path, the new one" nsl $'R100\tplain.txt\tplain-renamed.txt'
check "--name-status: R090 for the edited one" nsl $'R090\tedited.txt\tedited2.txt'
check "--name-status: a moved directory's files" nsl $'R100\ttree/x\tforest/x'
check "--name-status: the rewritten one is D and A" nsl $'D\trewritten.txt'
is "$(grep -c '^R' "$T/ns")" 9 "--name-status: nine renames"

"$AIRLOCK" diff --relative --stat "$ID" >"$T/stat"
stl() { grep -qE -- "$1" "$T/stat"; }
check "--stat: a rename with nothing in common is old => new" stl '^ plain.txt => plain-renamed.txt +\| +0$'
check "--stat: into another directory, the common part once" stl '^ \{src => docs\}/moved.txt +\| +0$'
check "--stat: the moved directory" stl '^ \{tree => forest\}/sub/y +\| +0$'
check "--stat: the edited one counts its lines" stl '^ edited.txt => edited2.txt +\| +2 \+-$'

# Full host paths too: `cd / && git apply` is the default's use.
"$AIRLOCK" diff "$ID" --name-status >"$T/ns-full"
check "without --relative the paths are the host's" grep -qxF $'R100\t'"${P#/}/plain.txt"$'\t'"${P#/}/plain-renamed.txt" "$T/ns-full"

# git apply in a pristine copy gives what the script gave run bare.
cp -a "$T/pristine" "$T/applied"
(cd "$T/applied" && git apply "$T/patch") 2>"$T/apply.err"
is "$?" 0 "git apply takes the patch with its renames"
diff -r "$T/bare" "$T/applied" >"$T/apply.diff" 2>&1
is "$?" 0 "... and gives the tree the script gives run bare" ||
	sed 's/^/# /' "$T/apply.diff"

# The full-path patch applies to a copy with -pN (N = 1 + the components of the project).
n=$(($(tr -cd / <<<"$P" | wc -c) + 1))
cp -a "$T/pristine" "$T/applied-p"
"$AIRLOCK" diff "$ID" -- "$P" >"$T/patch-full"
(cd "$T/applied-p" && git apply -p"$n" "$T/patch-full") 2>"$T/apply-p.err"
is "$?" 0 "git apply -p$n takes the full-path patch with its renames in a copy"
diff -r "$T/bare" "$T/applied-p" >/dev/null 2>&1
is "$?" 0 "... and gives the same tree"

# A path names a rename's new side: the rest is not in the patch (as git diff -- PATH).
"$AIRLOCK" diff --relative "$ID" -- "$P/plain-renamed.txt" >"$T/one"
check "a PATH naming the new side alone shows an addition" grep -qF "new file mode" "$T/one"

# The commit applies a rename as its deletion and its addition, both approved by the rules.
"$AIRLOCK" commit "$ID" >/dev/null 2>"$T/commit.err"
is "$?" 0 "the session commits"
diff -r "$T/bare" "$P" >"$T/commit.diff" 2>&1
is "$?" 0 "the host is what the script gives run bare" || sed 's/^/# /' "$T/commit.diff"

done_testing
