#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock show` names a rename's two changes as `airlock diff` pairs them: --json gives the
# deletion "renamed_to", the addition "renamed_from" and both the "similarity"; the text says
# "(renamed to NEW, N%)" and "(renamed from OLD, N%)" on their rows. run --json has no renames.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

seq 1 50 >same.txt
seq 1 40 >edited.txt
echo gone >unrelated.txt
"$AIRLOCK" run --review never --json -- sh -c 'mv same.txt same2.txt
	mv edited.txt edited2.txt; echo 41 >>edited2.txt
	rm unrelated.txt; echo other content >fresh.txt' >"$T/run.json" 2>"$T/run.err"
is "$?" 0 "the run succeeds"
sid=$(jf run 'j["session"]')
is "$(jf run '[k for c in j["changes"] for k in c if k.startswith("renamed") or k == "similarity"]')" \
	"[]" "run --json has no renames"

"$AIRLOCK" show --json "$sid" >"$T/show.json"
"$AIRLOCK" diff "$sid" >"$T/diff.txt"
members() {
	jf show "[(c.get('renamed_to'), c.get('renamed_from'), c.get('similarity'))
		for c in j['changes'] if c['path'] == '$T/work/$1']"
}
is "$(members same.txt)" "[('$T/work/same2.txt', None, 100)]" "the deletion of an identical rename: renamed_to, 100%"
is "$(members same2.txt)" "[(None, '$T/work/same.txt', 100)]" "its addition: renamed_from, 100%"
is "$(members edited.txt)" "[('$T/work/edited2.txt', None, 97)]" "a renamed and edited file: its similarity"
is "$(members edited2.txt)" "[(None, '$T/work/edited.txt', 97)]" "... on both changes"
check "the same similarity as diff's" grep -qx "similarity index 97%" "$T/diff.txt"
is "$(members unrelated.txt)" "[(None, None, None)]" "a deletion with no rename has none of them"
is "$(members fresh.txt)" "[(None, None, None)]" "nor an unrelated addition"

"$AIRLOCK" show --no-pager "$sid" >"$T/show.txt"
check "text: the deletion's row names the new path" \
	grep -qF "$T/work/edited.txt (renamed to $T/work/edited2.txt, 97%)   [" "$T/show.txt"
check "text: the addition's row names the old path" \
	grep -qF "$T/work/edited2.txt (renamed from $T/work/edited.txt, 97%)   [" "$T/show.txt"
check "text: an identical rename is 100%" \
	grep -qF "$T/work/same2.txt (renamed from $T/work/same.txt, 100%)   [" "$T/show.txt"
check "text: the unrelated deletion says nothing of a rename" \
	sh -c "grep -F '$T/work/unrelated.txt' '$T/show.txt' | grep -vq renamed"

# A name with an escape is shown escaped on the other change's row too.
printf 'x\n%.0s' $(seq 20) >plain.txt
"$AIRLOCK" run --review never --json -- sh -c 'mv plain.txt "$(printf "e\033[31m.txt")"' \
	>"$T/run2.json" 2>/dev/null
sid2=$(jf run2 'j["session"]')
"$AIRLOCK" show --no-pager "$sid2" >"$T/show2.txt"
check "text: the escaped new name on the deletion's row" \
	grep -qF "$T/work/plain.txt (renamed to $T/work/e\\e[31m.txt, 100%)" "$T/show2.txt"
check "text: no raw escape" sh -c "! grep -q \$(printf '\\033') '$T/show2.txt'"

done_testing
