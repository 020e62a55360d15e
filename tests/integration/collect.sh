#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The writable overlays of empty host directories are bound from one overlay (tracee/plan.h,
# collected overlays): the program sees each as the host has it, what it writes lands in the
# change set under the directory's path, and a commit puts it there. The host set-up is made
# in a mount namespace of the test's own (unshare -Urm), so every user can run it: a tmpfs on
# /srv (or another top directory) holding empty directories, one with a file, and mounts,
# which makes its entries planned one by one.
. "$(dirname "$0")/../lib.sh"
require_sandbox
trap cleanup_scratch EXIT

D=
for d in /srv /media /opt /mnt; do
	[ -d "$d" ] && [ ! -L "$d" ] && D=$d && break
done
if ! unshare -Urm --propagation private true 2>/dev/null || [ -z "$D" ]; then
	skip "collected overlays" "cannot make a mount namespace of our own (unshare -Urm), or no /srv"
	done_testing
	exit
fi

cat >"$T/setup.sh" <<'EOF'
set -e
D=$1
mount -t tmpfs tmpfs $D
mkdir $D/e1 $D/e2 $D/full $D/inner $D/l1 $D/l2
echo host >$D/full/f
chmod 0750 $D/e2
touch -d 2020-01-02 $D/e2
mount -t tmpfs tmpfs $D/inner
mkdir $D/ro $D/nx
mount -t tmpfs -o ro tmpfs $D/ro
mount -t tmpfs -o noexec tmpfs $D/nx
"$AIRLOCK" run --review never -- sh -c '
	stat -c "e2 %a %Y" $1/e2
	stat -c %d $1/e1 $1/e2 $1/full | tr "\n" " "; echo
	cat $1/full/f
	echo new >$1/e1/new
	mkdir $1/e2/d
	touch $1/ro/x 2>&1 | grep -q "Read-only" && echo ro-refused
	grep " $1/nx " /proc/self/mountinfo | grep -q noexec && echo nx-noexec
	stat -c %d $1/ro $1/nx | tr "\n" " "; echo' sh "$D" >"$T/inside" 2>"$T/run.err"
echo "run $?"
echo "run-sid $("$AIRLOCK" show --json last | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["session"])')"
echo "host-e1 $(ls -A $D/e1 | tr '\n' ' ')"
"$AIRLOCK" verify last >"$T/verify" 2>&1 && echo "verify ok"
"$AIRLOCK" commit last --all >/dev/null 2>&1 && echo "commit ok"
echo "after $(cat $D/e1/new) $(ls $D/e2)"
# A live session collects them too, and started again after a stop collects the same ones,
# though the host has put a file in one of them meanwhile: its layers stay where they were.
sid=$("$AIRLOCK" start --idle 60s)
"$AIRLOCK" exec "$sid" -- sh -c 'echo live >$1/l1/f; stat -c %d $1/l1 $1/l2 $1/full | tr "\n" " "; echo' \
	sh "$D" >"$T/live1" 2>&1
"$AIRLOCK" stop "$sid" >/dev/null 2>&1
echo late >$D/l2/late
"$AIRLOCK" exec "$sid" -- sh -c 'cat $1/l1/f; ls -A $1/l2 | tr "\n" " "; echo' sh "$D" >"$T/live2" 2>"$T/live2.err"
echo "resumed $?"
"$AIRLOCK" stop "$sid" >/dev/null 2>&1
"$AIRLOCK" verify "$sid" >/dev/null 2>&1 && echo "live verify ok"
echo "live-sid $sid"
EOF
export AIRLOCK T PY
out=$(unshare -Urm --propagation private bash "$T/setup.sh" "$D" 2>&1)
sed "s/^/# /" <<<"$out"
check "the run in the test's own mount namespace succeeds" grep -qx 'run 0' <<<"$out"
check "an empty directory shows the host's mode and times inside" grep -qx 'e2 750 1577923200' "$T/inside"
devs=$(sed -n 2p "$T/inside")
read -r d1 d2 dfull <<<"$devs"
check "the empty directories are one overlay ($devs), the one with a file an overlay of its own" \
	test -n "$dfull" -a "$d1" = "$d2" -a "$d1" != "$dfull"
check "the directory with a file shows the host's file" grep -qx host "$T/inside"
check "the host's empty directory stays empty while the session holds its change" \
	grep -qx 'host-e1 ' <<<"$out"
sid=$(sed -n 's/^run-sid //p' <<<"$out")
meta=$AIRLOCK_STATE_DIR/sessions/$sid/meta.json
is "$("$PY" -c '
import json, sys
m = {x["path"]: x["upper"] for x in json.load(open(sys.argv[1]))["mounts"]}
d = sys.argv[2]
print(len(m[d + "/e1"].split("/")), m[d + "/e1"] != m[d + "/e2"], len(m[d + "/full"].split("/")))
' "$meta" "$D" 2>&1)" "3 True 2" "the record names each its own upper directory, inside the collector's"
"$AIRLOCK" show "$sid" >"$T/show" 2>&1
check "the change set lists the file written in an empty directory" grep -q "added .* $D/e1/new" "$T/show"
check "... and the directory made in another" grep -q "dir-added .* $D/e2/d" "$T/show"
check "an empty directory on a read-only mount is read-only inside" grep -qx ro-refused "$T/inside"
check "one on a noexec mount is noexec inside" grep -qx nx-noexec "$T/inside"
is "$(sed -n '$p' "$T/inside")" "$d1 $d1 " "both are bound from the same overlay"
check "verify vouches for the record" grep -qx 'verify ok' <<<"$out"
check "commit puts both where the program wrote them" grep -qx 'after new d' <<<"$out"

read -r l1 l2 lfull <"$T/live1"
check "a live session's empty directories are one overlay too ($l1 $l2 $lfull)" \
	test -n "$lfull" -a "$l1" = "$l2" -a "$l1" != "$lfull"
check "started again after the host filled one, the live session runs its step" \
	grep -qx 'resumed 0' <<<"$out"
is "$(head -1 "$T/live2")" live "... and sees its earlier step's file in a collected directory"
is "$(sed -n 2p "$T/live2")" "" "... and the collected directory the host filled still shows the session's view"
sed "s/^/# live: /" "$T/live1" "$T/live2"
check "the live session's record verifies" grep -qx 'live verify ok' <<<"$out"
lsid=$(sed -n 's/^live-sid //p' <<<"$out")
is "$("$PY" -c '
import json, sys
m = {x["path"]: x["upper"] for x in json.load(open(sys.argv[1]))["mounts"]}
print(len(m[sys.argv[2] + "/l1"].split("/")), len(m[sys.argv[2] + "/l2"].split("/")))
' "$AIRLOCK_STATE_DIR/sessions/$lsid/meta.json" "$D" 2>&1)" "3 3" \
	"the live session's record names both inside the collector's upper, after the restart too"

done_testing
