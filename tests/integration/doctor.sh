#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Why airlock cannot start, and `airlock doctor`: each cause gets one line with its fix and
# `run` exits 125. The causes are forced with the test-only hooks (a fake /proc/sys tree,
# features turned off), with a real seccomp filter like a container's default profile, and
# (as root) with a real session store on overlayfs. The fallbacks for optional kernel
# features run real sandboxes with those features turned off.
. "$(dirname "$0")/../lib.sh"
require_sandbox

W=$T/work
cd "$W" || exit 1
me=$(id -u)

# A fake /proc/sys: fake NAME=VALUE... sets AIRLOCK_TEST_PROC_SYS to a fresh tree.
fake() {
	local d=$T/sys.$RANDOM kv
	mkdir -p "$d/kernel" "$d/user"
	for kv in "$@"; do
		printf '%s\n' "${kv#*=}" >"$d/${kv%%=*}"
	done
	echo "$d"
}

# --- airlock doctor: the whole check list ---------------------------------------------------
out=$("$AIRLOCK" doctor 2>"$T/doctor.err")
rc=$?
is "$rc" 0 "airlock doctor exits 0 where the sandbox starts"
missing=
for row in 'airlock:' 'kernel:' 'user namespace:' 'uid_map written:' 'overlayfs userxattr:' \
	'seccomp user notify:' 'WAIT_KILLABLE_RECV:' 'NOTIF_ADDFD:' 'ADDFD_FLAG_SEND:' \
	'SYNC_WAKE_UP:' 'SO_NETNS_COOKIE:' 'pidfd_getfd:' 'pidfd_open PIDFD_THREAD:' 'Landlock:' 'cgroup' 'AppArmor:' \
	'SELinux:' 'userns sysctls:' 'store:' 'result:'; do
	grep -q "^ *$row" <<<"$out" || missing="$missing '$row'"
done
is "$missing" "" "doctor prints every item of the check list"
check "doctor says the user namespace, overlay and notification work" \
	grep -Eq '^overlayfs userxattr: +yes' <<<"$out"
is "$(grep -c '^result: *airlock can run here' <<<"$out")" 1 "doctor's verdict: can run"
is "$(cat "$T/doctor.err")" "" "doctor prints no cause where none applies"
check "doctor names the store it checked" grep -q "^store: *$AIRLOCK_STATE_DIR" <<<"$out"
is "$(ls -A "$AIRLOCK_STATE_DIR" | grep -c doctor)" 0 "doctor leaves no scratch directory in the store"
"$AIRLOCK" doctor extra >/dev/null 2>&1
is "$?" 2 "doctor takes no argument (usage error)"

# --- checks before the sandbox is cloned (fake sysctls) -------------------------------------
# expect_refusal DESC PATTERN ENV...: run must exit 125 with a line matching PATTERN.
expect_refusal() {
	local desc=$1 pat=$2 rc
	shift 2
	env "$@" "$AIRLOCK" run --review never -- /bin/echo ran >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" = 125 ] && grep -Eq -- "$pat" "$T/err" && ! grep -q ran "$T/out"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $rc; stderr: $(cat "$T/err")"
	fi
}
expect_runs() {
	local desc=$1 out
	shift
	out=$(env "$@" "$AIRLOCK" run --review never -- /bin/echo ran 2>"$T/err")
	is "$out" ran "$desc"
}

d=$(fake user/max_user_namespaces=0)
expect_refusal "user.max_user_namespaces=0: exit 125 with the sysctl to set" \
	"^airlock: user namespaces are disabled \(user.max_user_namespaces=0\): .*sysctl -w user.max_user_namespaces=" \
	AIRLOCK_TEST_PROC_SYS="$d"
is "$(grep -c . "$T/err")" 1 "one cause, one line"

d=$(fake kernel/osrelease=5.10.0-28-amd64)
expect_refusal "Linux 5.10: too old, names 5.11" "^airlock: Linux 5.10 is too old: airlock needs Linux >= 5.11" \
	AIRLOCK_TEST_PROC_SYS="$d"

d=$(fake kernel/unprivileged_userns_clone=0 kernel/apparmor_restrict_unprivileged_userns=1 \
	user/max_user_namespaces=0)
if [ "$me" != 0 ]; then
	expect_refusal "unprivileged_userns_clone=0: the sysctl that enables it" \
		"^airlock: unprivileged user namespaces are disabled \(kernel.unprivileged_userns_clone=0\): enable them with 'sudo sysctl -w kernel.unprivileged_userns_clone=1'" \
		AIRLOCK_TEST_PROC_SYS="$d"
	check "Ubuntu's AppArmor restriction: the profile and the sysctl" grep -Eq \
		"^airlock: AppArmor restricts unprivileged user namespaces \(kernel.apparmor_restrict_unprivileged_userns=1\).*apparmor_parser -r /etc/apparmor.d/airlock.*sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" \
		"$T/err"
	is "$(grep -c '^airlock: ' "$T/err")" 3 "three causes, three lines"
	"$AIRLOCK" doctor >"$T/doc.out" 2>"$T/doc.err"
	is "$?" 0 "doctor without the fake tree: can run"
	AIRLOCK_TEST_PROC_SYS=$(fake kernel/apparmor_restrict_unprivileged_userns=1) \
		"$AIRLOCK" doctor >"$T/doc.out" 2>"$T/doc.err"
	is "$?" 1 "doctor under the AppArmor restriction exits 1"
	check "doctor shows the restriction's sysctl" grep -q 'restrict_unprivileged_userns=1' "$T/doc.out"
	check "doctor says what to do about it" grep -q 'AppArmor restricts' "$T/doc.err"
else
	# The restrictions are for unprivileged users: root is not refused by them.
	expect_runs "root: unprivileged_userns_clone=0 and AppArmor's restriction do not apply" \
		AIRLOCK_TEST_PROC_SYS="$(fake kernel/unprivileged_userns_clone=0 \
			kernel/apparmor_restrict_unprivileged_userns=1)"
fi
expect_runs "no fake tree: the same run starts" AIRLOCK_TEST_PROC_SYS=

# --- after a failed start: the probes (real seccomp filter, features turned off) -------------
expect_refusal "under a container-like seccomp profile: one line naming the fix" \
	"^airlock: a seccomp filter refuses to create user namespaces .*--security-opt seccomp=unconfined" \
	"$HELPERS/deny_userns"
check "the failed clone itself is named too" grep -q "cannot create the sandbox's namespaces: Operation not permitted" "$T/err"
is "$(grep -c 'a seccomp filter refuses' "$T/err")" 1 "the cause is said once"
"$HELPERS/deny_userns" "$AIRLOCK" doctor >"$T/doc.out" 2>"$T/doc.err"
is "$?" 1 "doctor under that profile exits 1"
check "doctor shows the filter on itself" grep -Eq '^seccomp on this process: +filter' "$T/doc.out"
check "doctor shows the user namespace failing" grep -Eq '^user namespace: +no: Operation not permitted' "$T/doc.out"

# doctor_cause FEATURE PATTERN DESC
doctor_cause() {
	AIRLOCK_TEST_FEATURES_OFF=$1 "$AIRLOCK" doctor >"$T/doc.out" 2>"$T/doc.err"
	local rc=$?
	if [ "$rc" = 1 ] && grep -Eq -- "$2" "$T/doc.err" && [ "$(grep -c . "$T/doc.err")" = 1 ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "exit $rc; stderr: $(cat "$T/doc.err")"
	fi
}
doctor_cause userns "^airlock: cannot create a user namespace: Operation not permitted" \
	"no user namespace: one line"
doctor_cause uid_map "^airlock: cannot write /proc/self/uid_map .*--security-opt systempaths=unconfined" \
	"no /proc write for uid_map: the container option"
doctor_cause overlay "^airlock: cannot mount overlayfs with userxattr .*AIRLOCK_STATE_DIR" \
	"overlay refused: where to put the store"
doctor_cause notify "^airlock: seccomp user notification is unavailable: .*Linux >= 5.5" \
	"seccomp user notification missing: the kernel it needs"
doctor_cause pidfd_getfd "^airlock: pidfd_getfd\(\) is unavailable: .*Linux >= 5.6" \
	"pidfd_getfd missing: the kernel it needs"
AIRLOCK_TEST_FEATURES_OFF=addfd,addfd_send,sync_wakeup,wait_killable_recv,pidfd_thread,landlock,netns_cookie \
	"$AIRLOCK" doctor >"$T/doc.out" 2>"$T/doc.err"
rows=$(grep -Ec '^ *(NOTIF_ADDFD|ADDFD_FLAG_SEND|SYNC_WAKE_UP|WAIT_KILLABLE_RECV|pidfd_open PIDFD_THREAD|SO_NETNS_COOKIE|Landlock): +no' "$T/doc.out")
is "$rows" 7 "doctor reports each optional feature turned off, with what airlock does without it"

# A real store on overlayfs (a container's root is one): the overlay is refused.
if [ "$me" = 0 ]; then
	mkdir -p "$T/ovl/l" "$T/ovl/u" "$T/ovl/w" "$T/ovl/m"
	if mount -t overlay overlay -o "lowerdir=$T/ovl/l,upperdir=$T/ovl/u,workdir=$T/ovl/w" "$T/ovl/m"; then
		expect_refusal "a session store on overlayfs: exit 125, move the store" \
			"^airlock: cannot mount overlayfs in a user namespace over the session store $T/ovl/m/state: .*store is on overlayfs.*AIRLOCK_STATE_DIR" \
			AIRLOCK_STATE_DIR="$T/ovl/m/state"
		umount "$T/ovl/m"
	else
		not_ok "mount an overlayfs to hold a store"
	fi
fi

# --- fallbacks for optional features, in real sandboxes -------------------------------------
cat >"$T/tcp.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"ping"); print(s.recv(100).decode())
PY
"$PY" "$TOP/tests/helpers/netsrv.py" tcp 127.0.0.1 "$T/echo.port" "$T/echo.log" &
tags+=("$T/echo.port")
wait_for 10 test -s "$T/echo.port" || diag "echo server did not start"
printf 'allow connect 127.0.0.1:%s\n' "$(cat "$T/echo.port")" >"$T/allow.rules"
chmod 600 "$T/allow.rules"
out=$(AIRLOCK_TEST_FEATURES_OFF=wait_killable_recv,sync_wakeup,pidfd_thread \
	"$AIRLOCK" run --review never -r "$T/allow.rules" -- sh -c \
	'echo data >f.txt && '"$PY"' '"$T/tcp.py"' '"$(cat "$T/echo.port")" 2>"$T/err")
is "$out" ping "without WAIT_KILLABLE_RECV, SYNC_WAKE_UP, PIDFD_THREAD: the mediated connect works"
id=$(last_session)
meta=$AIRLOCK_STATE_DIR/sessions/$id/meta.json
is "$(json_get "$meta" 'j["features"]["wait_killable_recv"], j["features"]["sync_wakeup"]')" \
	"False False" "the record says which features the run went without"
check "the write was captured" grep -q '"f.txt\|/f.txt' <("$AIRLOCK" show --json "$id")
out=$("$AIRLOCK" run --review never -- /bin/echo ran 2>/dev/null)
id=$(last_session)
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$id/meta.json" 'j["features"]["wait_killable_recv"]')" \
	True "without the hook the same kernel gives WAIT_KILLABLE_RECV (the hook did the turning off)"

done_testing
