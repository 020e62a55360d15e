#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The core promise: a real program writes, deletes, renames, chmods and links files in the
# working directory, $HOME and /tmp; it sees its own changes; the host sees none of them;
# `airlock show --json` reports each change with the right kind.
. "$(dirname "$0")/../lib.sh"
require_sandbox

CWD=$HOME/.airlock-it-cwd-$$
TMPA=$T/tmparea
RC=$HOME/.airlock-it-rc-$$
trap 'rm -rf "$CWD" "$RC"; cleanup_scratch' EXIT
mkdir -p "$CWD/dir-to-delete/sub" "$TMPA"
echo original >"$CWD/keep.txt"
echo before >"$CWD/modify.txt"
echo doomed >"$CWD/delete.txt"
echo moving >"$CWD/rename-src.txt"
echo perms >"$CWD/chmod.txt"
chmod 0644 "$CWD/chmod.txt"
echo a >"$CWD/dir-to-delete/a"
echo b >"$CWD/dir-to-delete/sub/b"
echo tmp-before >"$TMPA/t-modify.txt"
echo rc-before >"$RC"

snapshot() {
	(cd "$CWD" && find . -printf '%p %y %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
	(cd "$TMPA" && find . -printf '%p %y %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
	sha256sum "$RC"
	ls -la "$HOME" | awk '{print $1, $NF}' | grep -v '^total' | sort
}
before=$(snapshot)

cat >"$T/agent.py" <<'PY'
import os, shutil, subprocess, sys
cwd, tmpa, rc = sys.argv[1], sys.argv[2], sys.argv[3]
os.chdir(cwd)
open("new.txt", "w").write("created\n")
with open("modify.txt", "a") as f:
    f.write("after\n")
os.unlink("delete.txt")
os.rename("rename-src.txt", "rename-dst.txt")
os.chmod("chmod.txt", 0o600)
os.mkdir("newdir")
open("newdir/inner.txt", "w").write("inner\n")
os.symlink("new.txt", "link")
shutil.rmtree("dir-to-delete")
open(os.path.join(tmpa, "t-new.txt"), "w").write("tmp\n")
open(os.path.join(tmpa, "t-modify.txt"), "w").write("tmp-after\n")
open(rc, "a").write("rc-after\n")
subprocess.run(["true"], check=True)
# The program sees its own writes.
ok = (open("new.txt").read() == "created\n"
      and open("modify.txt").read() == "before\nafter\n"
      and not os.path.exists("delete.txt")
      and os.path.exists("rename-dst.txt") and not os.path.exists("rename-src.txt")
      and (os.stat("chmod.txt").st_mode & 0o777) == 0o600
      and os.readlink("link") == "new.txt"
      and not os.path.exists("dir-to-delete")
      and open(os.path.join(tmpa, "t-modify.txt")).read() == "tmp-after\n"
      and open(rc).read() == "rc-before\nrc-after\n")
print("SEEN-OK" if ok else "SEEN-WRONG")
sys.exit(0 if ok else 3)
PY

out=$(cd "$CWD" && al_run -- "$PY" "$T/agent.py" "$CWD" "$TMPA" "$RC" 2>"$T/err")
rc=$?
is "$rc" 0 "the agent script exits 0 inside the sandbox"
is "$out" "SEEN-OK" "the program reads its own writes, deletes, renames and chmods"
after=$(snapshot)
if [ "$before" = "$after" ]; then ok "the host is untouched (cwd, /tmp, \$HOME)"; else
	not_ok "the host is untouched (cwd, /tmp, \$HOME)"
	diff <(echo "$before") <(echo "$after") | sed 's/^/# /'
fi
check "the run names its session on stderr" grep -q "held in the sandbox" "$T/err"

"$AIRLOCK" show --json >"$T/show.json"
kind_of() {
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(next((c["kind"] for c in j["changes"] if c["path"]==sys.argv[2]), "none"))' "$T/show.json" "$1"
}
is "$(kind_of "$CWD/new.txt")" added "new file: added"
is "$(kind_of "$CWD/modify.txt")" modified "appended file: modified"
is "$(kind_of "$CWD/delete.txt")" deleted "unlinked file: deleted"
is "$(kind_of "$CWD/rename-src.txt")" deleted "rename source: deleted"
is "$(kind_of "$CWD/rename-dst.txt")" added "rename destination: added"
is "$(kind_of "$CWD/chmod.txt")" mode-changed "chmod: mode-changed"
is "$(kind_of "$CWD/newdir")" dir-added "mkdir: dir-added"
is "$(kind_of "$CWD/newdir/inner.txt")" added "file in a new directory: added"
is "$(kind_of "$CWD/link")" symlink-added "symlink: symlink-added"
is "$(kind_of "$CWD/dir-to-delete")" deleted "rmtree: one deleted entry for the directory"
is "$(kind_of "$CWD/dir-to-delete/a")" none "children of a deleted directory are not listed"
is "$(kind_of "$TMPA/t-new.txt")" added "/tmp: added"
is "$(kind_of "$TMPA/t-modify.txt")" modified "/tmp: modified"
is "$(kind_of "$RC")" modified "\$HOME dotfile: modified"
is "$(kind_of "$CWD/keep.txt")" none "untouched file: not listed"
by=$("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(" ".join(next(c["by"] for c in j["changes"] if c["path"]==sys.argv[2])))' "$T/show.json" "$CWD/new.txt")
case $by in *agent.py*) ok "changes are attributed to the process that wrote them" ;; *) not_ok "changes are attributed ($by)" ;; esac
cmds=$("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print("|".join(" ".join(c["argv"]) for c in j["commands"]))' "$T/show.json")
case $cmds in *"|true"*) ok "the subprocess is listed among the commands" ;; *) not_ok "subprocess listed ($cmds)" ;; esac
script=$("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["script"]["sha256"] if j["script"] else "")' "$T/show.json")
is "$script" "$(sha256sum "$T/agent.py" | cut -d' ' -f1)" "the record holds the script's content hash"
check "show (text) lists the modified file" sh -c "'$AIRLOCK' show | grep -q 'modified .*modify.txt'"

# A rename of a directory that came from the host: overlayfs without redirect_dir says EXDEV,
# airlock renames it (dirrename.sh); shutil.move works as well.
mkdir -p "$CWD/hostdir"
echo x >"$CWD/hostdir/f"
out=$(cd "$CWD" && al_run -- "$PY" -c '
import os, errno, shutil
try:
    os.rename("hostdir", "hostdir2"); print("renamed")
except OSError as e:
    print("EXDEV" if e.errno == errno.EXDEV else "other")
shutil.move("hostdir2", "hostdir3"); print(os.path.exists("hostdir3/f"))' 2>/dev/null)
is "$(echo $out)" "renamed True" "directory rename: renamed, and shutil.move works"
check "host directory still in place after the move" test -f "$CWD/hostdir/f"

# list and discard
check "list shows the sessions" sh -c "'$AIRLOCK' list | grep -q finished"
sid=$(last_session)
upper=$AIRLOCK_STATE_DIR/sessions/$sid/upper
check "the session has upper directories" test -d "$upper"
check "discard succeeds" sh -c "'$AIRLOCK' discard $sid >/dev/null"
check "discard removes the overlay" test ! -e "$upper"
is "$("$AIRLOCK" show --json "$sid" | json_get - 'j["state"]')" discarded "show reports the discarded state"
check "the record survives discard" test -s "$AIRLOCK_STATE_DIR/sessions/$sid/events.jsonl"
"$AIRLOCK" show nosuchsession >/dev/null 2>&1
is "$?" 1 "show of an unknown session exits 1"

done_testing
