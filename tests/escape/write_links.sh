#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A deny write rule holds for the file the kernel writes, not only for the name the program
# gave: a symlink to a denied file, a symlinked directory, a link higher up, a dangling link
# that O_CREAT would follow, a ".." after a link (the kernel leaves where the link leads, not the
# link's own directory), a trailing slash. Calls that act on the link itself (unlink, lchown, O_NOFOLLOW)
# are decided on the link (O_CREAT|O_EXCL over a link fails EEXIST in the kernel).
. "$(dirname "$0")/../lib.sh"
require_sandbox
W=$T/work
cd "$W" || exit 1

mkdir secret
echo original >secret/f
ln -s secret/f link
ln -s secret ldir
ln -s secret/new dangle
mkdir -p a/b
ln -s ../../ldir a/b/up
mkdir secret/sub
ln -s secret/sub lsub
printf 'deny write %s/secret/**\n' "$W" >"$T/deny.rules"

out=$(al_run -r "$T/deny.rules" -- "$PY" -c '
import os
def attempt(name, f):
    try:
        f()
        print(name, "written")
    except PermissionError:
        print(name, "denied")
    except FileExistsError:
        print(name, "exists")
def write(p, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    os.close(os.open(p, flags, 0o644))
attempt("link", lambda: write("link"))
attempt("ldir", lambda: write("ldir/g"))
attempt("up", lambda: write("a/b/up/h"))
attempt("dotdot", lambda: write("lsub/../dd"))
attempt("mkdir-slash", lambda: os.mkdir("ldir/nd/"))
attempt("dangle", lambda: write("dangle"))
attempt("truncate", lambda: os.truncate("link", 0))
attempt("chmod", lambda: os.chmod("link", 0o600))
attempt("utime", lambda: os.utime("ldir/f"))
attempt("rename-into", lambda: (write("mine"), os.rename("mine", "ldir/mine")))
attempt("unlink-link", lambda: os.unlink("link"))
attempt("excl-over-link", lambda: write("dangle", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
attempt("plain", lambda: write("plain"))
' 2>"$T/err" | paste -sd' ')
is "$out" "link denied ldir denied up denied dotdot denied mkdir-slash denied dangle denied truncate denied chmod denied utime denied rename-into denied unlink-link written excl-over-link exists plain written" \
	"writes through links into a denied directory are denied; the link itself is the program's"
sid=$(last_session)
"$AIRLOCK" show --json "$sid" >"$T/links.json"
is "$(jf links "sorted(c['path'][len(sys.argv[3]) + 1:] for c in j['changes'])" "$W")" \
	"['link', 'mine', 'plain']" "nothing under the denied directory is in the overlay"
is "$(cat secret/f)" original "the host's file is untouched"
"$AIRLOCK" log --json "$sid" >"$T/links.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1])]
print([x.get("resolved") for x in e if x.get("class") == "write" and x.get("target") == sys.argv[2] + "/link" and x.get("op") == "openat"])' "$T/links.log" "$W")" \
	"['$W/secret/f']" "the event records the path the write resolved to"

done_testing
